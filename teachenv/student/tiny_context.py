"""Building the tiny student that reads its context (``student.model: tiny-context``).

The build starts from the recipe's base tiny student (``TinyContextRecipe.base()``: by default the quick-start
student, taken from the cache or built there first, so the two share one pretraining) and trains all its weights
further for ``context_steps`` steps on the exemplar sequences of ``context_corpus`` with the same loop
(``tiny_model.pretrain``: AdamW, warm-up then cosine decay, clipped gradients). Starting from a student that
already computes matters: a check of the exemplar's answer against its own arithmetic is what makes the
in-context score informative, and a student pretrained from scratch on the sequences had not learned the
arithmetic, let alone the check, within a build of a few minutes (README "Student-feedback signals").

The result is cached as ``tiny-context-<hash>`` (the hash covers the whole recipe, base fields included, the
task's generator and ``CONTEXT_BUILD_VERSION``) with ``recipe.json`` and a ``report.json`` holding its
validation accuracy (alone), the split it was measured on (the key leaves split sizes out, so it is the split of the
config that built it: ``build_report``) and the name of its base student. This module knows the two stages, not the
corpus or the loop.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from teachenv.core.config import TinyContextRecipe
from teachenv.student.context_corpus import CONTEXT_BUILD_VERSION, context_corpus
from teachenv.student.tiny_model import build_atomically, load_or_build_tiny, pretrain, save_student, tiny_student_path

if TYPE_CHECKING:
    from teachenv.tasks.base import GeneratedTask


def build_tiny_context_into(path: Path, recipe: TinyContextRecipe, task: GeneratedTask, *, progress: bool) -> None:
    """Build the tiny-context student of ``recipe`` into ``path`` (atomically, like the tiny student)."""

    def write(staging: Path) -> None:
        start = time.perf_counter()
        model, tokenizer = load_or_build_tiny(recipe.base(), task, progress=progress)
        base_seconds = time.perf_counter() - start
        seconds = pretrain(model, tokenizer, recipe.context_stage(), task, progress=progress, corpus=context_corpus)
        facts = {"context_seconds": round(seconds, 2), "base_seconds": round(base_seconds, 2),
                 "base": tiny_student_path(recipe.base(), task).name}
        save_student(staging, model, tokenizer, recipe, task, facts, CONTEXT_BUILD_VERSION)

    build_atomically(path, write)
