"""The tiny student: a small Llama with a character tokenizer, built and pretrained locally.

``load_or_build_tiny(recipe, task)`` returns a model and tokenizer. A recipe with
``pretrain_steps > 0`` is pretrained once on the task's own generator and cached under
``teachenv_home()/students/tiny-<hash>/`` (model, tokenizer, ``recipe.json`` and a ``report.json``
with held-out validation accuracy per skill); later calls load the cache. The hash covers the
recipe, the task's name and config, and ``BUILD_VERSION`` (bump it when the build changes), but not
the split sizes: the report's accuracy is that of the validation split of the config that built it,
recorded beside it (``build_report``), and compares with another config's numbers only for the same split.
A recipe with ``pretrain_steps == 0`` is an untrained *plumbing* model, built in memory in
milliseconds and never cached. A ``TinyContextRecipe`` (``student.model: tiny-context``) is built by
``tiny_context`` (its base student from this cache, then a stage on exemplar sequences) and cached as
``tiny-context-<hash>``.

Pretraining is a plain torch loop: AdamW, linear warm-up then cosine decay, a fixed number of
steps, loss on the answer tokens only (prompt tokens are labelled -100). The corpus samples a
skill per example with probability proportional to ``recipe.skill_weights`` (1.0 for skills not
listed), so an under-weighted skill starts weak and a teacher has something to teach.

The build is deterministic for ``recipe.seed`` and leaves the caller's torch RNG untouched. It is
atomic: it is written into a temporary sibling directory and renamed into place, so a killed
build leaves no half cache, and a concurrent builder that loses the rename uses the winner's.
This module knows nothing about LoRA, teachers or environments.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teachenv.core.config import PretrainingRecipe, TinyContextRecipe, TinyStudentRecipe
from teachenv.core.errors import ConfigError
from teachenv.core.hashing import content_hash
from teachenv.core.paths import teachenv_home
from teachenv.student.progress import no_loading_bars, progress_steps

if TYPE_CHECKING:
    import numpy as np
    import torch
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    from teachenv.tasks.base import GeneratedTask, Task

#: Part of the cache key: bump when the architecture, the corpus or the training loop changes.
BUILD_VERSION = 2
ADAM_BETAS = (0.9, 0.98)
MAX_GRAD_NORM = 1.0
WEIGHT_DECAY = 0.01  # torch's AdamW default, written out
_EVAL_BATCH_SIZE = 256

log = logging.getLogger(__name__)


# -- cache ---------------------------------------------------------------------------------------


def tiny_student_path(recipe: TinyStudentRecipe, task: GeneratedTask) -> Path:
    """Where the pretrained tiny student for ``recipe`` and ``task`` is (or will be) cached."""
    if isinstance(recipe, TinyContextRecipe):
        from teachenv.student.context_corpus import CONTEXT_BUILD_VERSION

        return cached_student_path("tiny-context", recipe, task, CONTEXT_BUILD_VERSION)
    return cached_student_path("tiny", recipe, task, BUILD_VERSION)


def cached_student_path(prefix: str, recipe: Any, task: GeneratedTask, build_version: int) -> Path:
    """``TEACHENV_HOME/students/<prefix>-<hash>``, the hash over the recipe, the task's generator and the
    builder's version: any of them changing means a different student."""
    key = content_hash({"recipe": recipe.model_dump(mode="json"), "task": task.generator_identity(),
                        "build": build_version})
    return teachenv_home() / "students" / f"{prefix}-{key}"


def load_or_build_tiny(recipe: TinyStudentRecipe, task: GeneratedTask, *,
                       progress: bool = False) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """The tiny student (model in eval mode, left-padding tokenizer): from the cache, or built now."""
    if recipe.pretrain_steps == 0:
        return build_tiny_model(recipe)
    path = tiny_student_path(recipe, task)
    if not path.is_dir():
        if isinstance(recipe, TinyContextRecipe):
            from teachenv.student.tiny_context import build_tiny_context_into

            build_tiny_context_into(path, recipe, task, progress=progress)
        else:
            _build_into(path, recipe, task, progress=progress)
    return load_tiny(path)


def load_tiny(path: Path) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """Load a cached tiny student directory."""
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast.from_pretrained(path, padding_side="left")
    with no_loading_bars():
        model = LlamaForCausalLM.from_pretrained(path)
    model.eval()
    return model, tokenizer


def _build_into(path: Path, recipe: TinyStudentRecipe, task: GeneratedTask, *, progress: bool) -> None:
    def write(staging: Path) -> None:
        model, tokenizer = build_tiny_model(recipe)
        seconds = pretrain(model, tokenizer, recipe, task, progress=progress)
        save_student(staging, model, tokenizer, recipe, task, {"pretrain_seconds": round(seconds, 2)}, BUILD_VERSION)

    build_atomically(path, write)


def save_student(staging: Path, model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, recipe: Any,
                 task: GeneratedTask, facts: dict[str, Any], build_version: int) -> None:
    """Save a built tiny student into ``staging`` with its build record; ``report.json`` holds its validation
    accuracy per skill and what it was measured on (``build_report``), ``facts`` (how it was built), its parameter
    count and ``build_version``."""
    report = {**validation_report(model, tokenizer, task), **facts,
              "parameters": sum(p.numel() for p in model.parameters()), "build_version": build_version}
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    write_build_record(staging, recipe, task, report)


def write_build_record(staging: Path, recipe: Any, task: GeneratedTask, report: dict[str, Any]) -> None:
    """``recipe.json`` (what was built) and ``report.json`` (how well) beside a cached student."""
    (staging / "recipe.json").write_text(json.dumps(
        {"recipe": recipe.model_dump(mode="json"), "task": task.generator_identity()}, indent=2))
    (staging / "report.json").write_text(json.dumps(report, indent=2))


def build_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Run ``write`` into a temporary sibling of ``path`` and rename it into place: a killed build
    leaves no half directory, and a concurrent builder that loses the rename uses the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.building-", dir=path.parent))
    try:
        write(staging)
        try:
            os.rename(staging, path)
        except OSError as exc:
            # Another process finished the same build first: its directory is as good as ours.
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not path.is_dir():
                raise
            log.info("student %s was built concurrently; using that build", path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# -- model ---------------------------------------------------------------------------------------


def build_tiny_model(recipe: TinyStudentRecipe) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """An untrained tiny Llama for ``recipe`` (weights fixed by ``recipe.seed``) and its tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from teachenv.student.char_tokenizer import build_char_tokenizer

    if recipe.hidden_size % recipe.num_heads:
        raise ConfigError(
            f"student.tiny.hidden_size ({recipe.hidden_size}) must be a multiple of student.tiny.num_heads "
            f"({recipe.num_heads}); change one of them."
        )
    tokenizer = build_char_tokenizer(padding_side="left")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=recipe.hidden_size,
        intermediate_size=recipe.intermediate_size,
        num_hidden_layers=recipe.num_layers,
        num_attention_heads=recipe.num_heads,
        num_key_value_heads=recipe.num_heads,
        max_position_embeddings=recipe.max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.eval()
    return model, tokenizer


# -- pretraining ---------------------------------------------------------------------------------


def skill_probabilities(recipe: PretrainingRecipe, task: Task) -> list[float]:
    """Corpus share of each of ``task.skills``, from ``recipe.skill_weights`` (default 1.0)."""
    unknown = sorted(set(recipe.skill_weights) - set(task.skills))
    if unknown:
        raise ConfigError(
            f"student.tiny.skill_weights names {unknown}, which task {task.name!r} does not have; "
            f"use skills among {list(task.skills)}."
        )
    weights = [recipe.skill_weights.get(skill, 1.0) for skill in task.skills]
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ConfigError(f"student.tiny.skill_weights must be ≥ 0 and not all 0, got {recipe.skill_weights}.")
    total = sum(weights)
    return [w / total for w in weights]


def pretraining_corpus(recipe: TinyStudentRecipe, task: GeneratedTask, tokenizer: PreTrainedTokenizerFast,
                       rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``pretrain_steps * batch_size`` examples as right-padded (input_ids, labels, lengths).

    A sequence is prompt + completion + eos; labels are -100 on the prompt and the padding.
    Generated up front, one generator call per skill, which is far cheaper than one per example.
    """
    import numpy as np
    import torch

    total = recipe.pretrain_steps * recipe.batch_size
    skill_of = rng.choice(len(task.skills), size=total, p=skill_probabilities(recipe, task))
    examples: list[Any] = [None] * total
    for index, skill in enumerate(task.skills):
        slots = np.flatnonzero(skill_of == index)
        for slot, example in zip(slots, task.generate(skill, len(slots), rng), strict=True):
            examples[slot] = example
    # Tokenized as TRL does later: the prompt with the tokenizer's special tokens (<bos>), the answer
    # without. The Rust tokenizer is called directly: the Python wrapper costs seconds per 100k rows.
    encode = tokenizer.backend_tokenizer.encode_batch
    prompts = [e.ids for e in encode([task.prompt(e.example) for e in examples], add_special_tokens=True)]
    answers = [e.ids for e in encode([e.completion for e in examples], add_special_tokens=False)]
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    lengths = [len(p) + len(a) + 1 for p, a in zip(prompts, answers, strict=True)]
    width = max(lengths)
    if width > recipe.max_positions:
        raise ConfigError(
            f"A pretraining sequence has {width} tokens, more than student.tiny.max_positions "
            f"({recipe.max_positions}); raise max_positions."
        )
    input_ids = torch.tensor([p + a + [eos] + [pad] * (width - n)
                              for p, a, n in zip(prompts, answers, lengths, strict=True)])
    labels = torch.tensor([[-100] * len(p) + a + [eos] + [-100] * (width - n)
                           for p, a, n in zip(prompts, answers, lengths, strict=True)])
    return input_ids, labels, torch.tensor(lengths)


def pretrain(model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, recipe: TinyStudentRecipe,
             task: GeneratedTask, *, progress: bool = False, corpus: Callable[..., Any] | None = None) -> float:
    """Train ``model`` in place for exactly ``recipe.pretrain_steps`` steps on ``corpus(recipe, task, tokenizer,
    rng)`` (default ``pretraining_corpus``); return the seconds taken."""
    import numpy as np

    start = time.perf_counter()
    corpus = corpus or pretraining_corpus
    input_ids, labels, lengths = corpus(recipe, task, tokenizer, np.random.default_rng(recipe.seed))
    log.info("pretraining corpus of %d examples built in %.1f s", len(input_ids), time.perf_counter() - start)

    def loss_at(step: int) -> Any:
        rows = slice(step * recipe.batch_size, (step + 1) * recipe.batch_size)
        width = int(lengths[rows].max())  # trim the batch to its longest sequence
        ids = input_ids[rows, :width]
        return model(input_ids=ids, attention_mask=(ids != tokenizer.pad_token_id).long(),
                     labels=labels[rows, :width]).loss

    run_pretraining(model, recipe, loss_at, progress=progress, description="pretraining tiny student", log_every=200)
    return time.perf_counter() - start


def run_pretraining(model: Any, recipe: PretrainingRecipe, loss_at: Callable[[int], Any], *,
                    progress: bool, description: str, log_every: int) -> None:
    """The training loop both tiny students are pretrained with: ``recipe.pretrain_steps`` steps of AdamW
    on ``loss_at(step)`` (the loss of step ``step``'s batch), a cosine schedule after warm-up, gradients
    clipped; under torch RNG seeded by ``recipe.seed`` (the caller's is restored afterwards)."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, betas=ADAM_BETAS,
                                      weight_decay=WEIGHT_DECAY)
        scheduler = get_cosine_schedule_with_warmup(optimizer, recipe.warmup_steps, recipe.pretrain_steps)
        model.train()
        for step in progress_steps(range(recipe.pretrain_steps), progress, description):
            loss = loss_at(step)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if progress and (step + 1) % log_every == 0:
                log.info("%s: step %d/%d, loss %.4f", description, step + 1, recipe.pretrain_steps, loss.item())
        model.eval()


def validation_report(model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, task: Task) -> dict[str, Any]:
    """Greedy accuracy per skill on the task's validation split, with the record of that split
    (``build_report.measured_validation``)."""
    from teachenv.engines.transformers_backend import TransformersBackend
    from teachenv.student.build_report import measured_validation

    return measured_validation(TransformersBackend(model, tokenizer, batch_size=_EVAL_BATCH_SIZE, model_name="tiny"),
                               task)
