"""The tiny teacher LM: a small generative model of a generated world's data, built once and cached, that
can be aligned on CPU.

``load_or_build_teacher(recipe, task)`` returns a model and tokenizer (the tiny students' Llama and
character tokenizer). It is pretrained on text ``teacher_prompt(skill)`` → ``teacher_completion(question,
answer)`` drawn from the world's own generator, and cached content-addressed under
``teachenv_home()/students/tiny-teacher-<hash>/`` (hash over the recipe, the world's generator and
``BUILD_VERSION``), built atomically like the tiny students.

It is **imperfect on purpose**, so there is something for alignment to move: a share ``wrong_rate`` of
its pretraining examples carry a wrong answer (the gold answer shifted by 1-9), and a share
``off_skill_rate`` are a problem of another skill written under the asked skill's tag. A sampled teacher
therefore writes some wrong or off-skill examples, which verification rejects.

The arith world has no worked rationales, so a completion is question and answer only. This module knows
nothing about backends, caches, DPO or environments.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.config import TinyStudentRecipe
from teachenv.core.hashing import content_hash
from teachenv.core.paths import teachenv_home

if TYPE_CHECKING:
    import numpy as np

    from teachenv.tasks.base import GeneratedTask

#: Part of the cache key: bump when the text format, the corpus or the training loop changes.
BUILD_VERSION = 1
ANSWER_MARK = "\nA: "


class TinyTeacherRecipe(BaseModel):
    """How the tiny teacher is built: its size, its pretraining, and its deliberate imperfections."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    hidden_size: int = Field(128, ge=8)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(4, ge=1)
    intermediate_size: int = Field(256, ge=8)
    pretrain_steps: int = Field(2000, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    warmup_steps: int = Field(30, ge=0)
    wrong_rate: float = Field(0.25, ge=0, le=1, description="Share of pretraining examples with a wrong answer.")
    off_skill_rate: float = Field(0.1, ge=0, le=1,
                                  description="Share of pretraining examples of another skill under this skill's tag.")
    seed: int = 0

    def as_student_recipe(self) -> TinyStudentRecipe:
        """The same architecture and schedule as a tiny-student recipe (whose builder and loop it reuses)."""
        return TinyStudentRecipe(hidden_size=self.hidden_size, num_layers=self.num_layers, num_heads=self.num_heads,
                                 intermediate_size=self.intermediate_size, pretrain_steps=self.pretrain_steps,
                                 batch_size=self.batch_size, learning_rate=self.learning_rate,
                                 warmup_steps=self.warmup_steps, skill_weights={}, seed=self.seed)


def teacher_prompt(skill: str) -> str:
    """The compact prompt the teacher was trained on: the skill tag."""
    return f"skill {skill}\nQ: "


def teacher_completion(question: str, answer: str) -> str:
    return f"{question}{ANSWER_MARK}{answer}"


def parse_completion(text: str) -> tuple[str, str] | None:
    """(question, answer) of a sampled completion; None when it is not in the trained format."""
    question, mark, answer = text.partition(ANSWER_MARK)
    question, answer = question.strip(), answer.strip().splitlines()[0].strip() if answer.strip() else ""
    return (question, answer) if mark and question and answer else None


def teacher_path(recipe: TinyTeacherRecipe, task: GeneratedTask) -> Path:
    key = content_hash({"recipe": recipe.model_dump(mode="json"), "task": task.generator_identity(),
                        "build": BUILD_VERSION})
    return teachenv_home() / "students" / f"tiny-teacher-{key}"


def load_or_build_teacher(recipe: TinyTeacherRecipe, task: GeneratedTask) -> tuple[Any, Any]:
    """The tiny teacher (model in eval mode, left-padding tokenizer) and the directory it is cached in."""
    from teachenv.student.tiny_model import build_atomically, load_tiny

    path = teacher_path(recipe, task)
    if not path.is_dir():
        build_atomically(path, lambda staging: _build(staging, recipe, task))
    model, tokenizer = load_tiny(path)
    return model, tokenizer


def _build(staging: Path, recipe: TinyTeacherRecipe, task: GeneratedTask) -> None:
    import numpy as np

    from teachenv.student.tiny_model import build_tiny_model

    start = time.perf_counter()
    model, tokenizer = build_tiny_model(recipe.as_student_recipe())
    texts = corpus(recipe, task, np.random.default_rng(recipe.seed))
    _pretrain(model, tokenizer, recipe, texts)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "recipe.json").write_text(json.dumps(
        {"recipe": recipe.model_dump(mode="json"), "task": task.generator_identity(), "build": BUILD_VERSION,
         "seconds": round(time.perf_counter() - start, 2)}, indent=2))


def corpus(recipe: TinyTeacherRecipe, task: GeneratedTask, rng: np.random.Generator) -> list[tuple[str, str]]:
    """(prompt, completion) pairs, skills uniform, with ``wrong_rate`` wrong answers and ``off_skill_rate``
    problems of another skill under the tag."""
    import numpy as np

    total = recipe.pretrain_steps * recipe.batch_size
    skills = list(task.skills)
    tags = rng.integers(0, len(skills), size=total)
    off = rng.random(total) < recipe.off_skill_rate
    written = [(int(rng.integers(0, len(skills) - 1)) + 1 + t) % len(skills) if o else t for t, o in zip(tags, off)]
    wrong = rng.random(total) < recipe.wrong_rate
    shifts = rng.integers(1, 10, size=total) * rng.choice([-1, 1], size=total)
    pools = {k: iter(task.generate(skills[k], int((np.asarray(written) == k).sum()), rng)) for k in range(len(skills))}
    out = []
    for i in range(total):
        example = next(pools[written[i]]).example
        answer = example.answer
        if wrong[i]:
            try:
                answer = str(int(answer) + int(shifts[i]))
            except ValueError:
                answer = answer + "0"
        out.append((teacher_prompt(skills[tags[i]]), teacher_completion(task.teacher_view(example), answer)))
    return out


def _pretrain(model: Any, tokenizer: Any, recipe: TinyTeacherRecipe, texts: list[tuple[str, str]]) -> None:
    """Loss on the completion tokens, with the tiny students' training loop."""
    import torch

    from teachenv.student.tiny_model import run_pretraining

    encode = tokenizer.backend_tokenizer.encode_batch
    prompts = [e.ids for e in encode([p for p, _ in texts], add_special_tokens=True)]
    answers = [e.ids for e in encode([c for _, c in texts], add_special_tokens=False)]
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    width = max(len(p) + len(a) + 1 for p, a in zip(prompts, answers, strict=True))
    rows = [(p + a + [eos], [-100] * len(p) + a + [eos]) for p, a in zip(prompts, answers, strict=True)]
    input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in rows])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])

    def loss_at(step: int) -> Any:
        batch = slice(step * recipe.batch_size, (step + 1) * recipe.batch_size)
        ids = input_ids[batch]
        return model(input_ids=ids, attention_mask=(ids != pad).long(), labels=labels[batch]).loss

    run_pretraining(model, recipe.as_student_recipe(), loss_at, progress=False, description="pretraining tiny teacher",
                    log_every=100)
