"""The tiny teacher LM: a small Llama with the character tokenizer, pretrained on a generated world's
own generator to write examples of a skill, built once and cached under
``TEACHENV_HOME/teachers/tiny-teacher-<hash>/`` (hash over the recipe, the task's generator and
``BUILD_VERSION``; the build is atomic, like the tiny students').

What it is trained on (the *compact* text format the ``tiny-teacher`` backend speaks):

- writing: ``W <skill> [k=v ...]|`` → ``<question><answer>``, e.g. ``W add-carry digits=2|18+25=`` →
  ``43``... written as one completion ``18+25=43``; half of the rows carry the problem's subskill
  parameters (so it can be asked for a subskill), half only the skill;
- solving (``solve_share`` of the rows): ``S|<question>`` → ``<answer>``.

The world has no worked rationales (arith answers are bare numbers), so none are trained.

**Imperfect on purpose**, so that alignment has something to move: ``wrong_rate`` of the training
answers are off by a small amount (±1..9), and ``off_skill_rate`` of the writing rows pair a skill
tag with a question of another skill. The built teacher therefore writes a measurable share of
wrong or off-skill examples, which the task's verifier rejects; ``report.json`` beside the model
records that share (``verified_accept_rate``) at temperature 1 (about 0.03–0.28 per skill for the default
recipe, built in about 2 CPU-minutes).

It knows nothing about engines, caches or alignment.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from teachenv.core.config import PretrainingRecipe
from teachenv.core.hashing import content_hash
from teachenv.core.paths import teachenv_home

if TYPE_CHECKING:
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    from teachenv.engines.base import GenerationResult
    from teachenv.tasks.base import GeneratedTask

#: Part of the cache key: bump when the architecture, the corpus or the training loop changes.
BUILD_VERSION = 1
WRITE, SOLVE, SEP = "W", "S", "|"


class TinyTeacherRecipe(PretrainingRecipe):
    """The tiny teacher: smaller than the students, trained on the compact writing/solving format."""

    hidden_size: int = Field(96, ge=8)
    num_layers: int = Field(3, ge=1)
    num_heads: int = Field(4, ge=1)
    intermediate_size: int = Field(384, ge=8)
    pretrain_steps: int = Field(800, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    warmup_steps: int = Field(30, ge=0)
    skill_weights: dict[str, float] = Field(default_factory=dict, description="Corpus weight per skill (default 1.0).")
    max_positions: int = Field(64, ge=32, description="Context length: the compact format is short.")
    wrong_rate: float = Field(0.25, ge=0, le=1, description="Share of training answers made wrong (±1..9).")
    off_skill_rate: float = Field(0.1, ge=0, le=1, description="Share of writing rows whose question is of another skill.")
    solve_share: float = Field(0.2, ge=0, le=1, description="Share of rows in the solving format.")


def writing_prompt(skill: str, params: dict[str, Any] | None = None) -> str:
    """The compact writing prompt: ``W <skill> k=v ...|``."""
    tail = "".join(f" {k}={v}" for k, v in sorted((params or {}).items()))
    return f"{WRITE} {skill}{tail}{SEP}"


def solving_prompt(question: str) -> str:
    return f"{SOLVE}{SEP}{question}"


def split_example(text: str) -> tuple[str, str]:
    """(question, answer) of a written completion ``<question><answer>``: cut after the last ``=``."""
    text = text.strip()
    cut = text.rfind("=")
    return (text, "") if cut < 0 else (text[: cut + 1], text[cut + 1:])


def tiny_teacher_path(recipe: TinyTeacherRecipe, task: GeneratedTask) -> Path:
    key = content_hash({"recipe": recipe.model_dump(mode="json"), "task": task.generator_identity(),
                        "build": BUILD_VERSION})
    return teachenv_home() / "teachers" / f"tiny-teacher-{key}"


def load_or_build_teacher(recipe: TinyTeacherRecipe, task: GeneratedTask
                          ) -> tuple[Path, LlamaForCausalLM, PreTrainedTokenizerFast]:
    """(cache folder, base model in eval mode, left-padding tokenizer), building it now if missing."""
    from teachenv.student.tiny_model import build_atomically, load_tiny

    path = tiny_teacher_path(recipe, task)
    if not path.is_dir():
        build_atomically(path, lambda staging: _build(staging, recipe, task))
    model, tokenizer = load_tiny(path)
    return path, model, tokenizer


def corpus_rows(recipe: TinyTeacherRecipe, task: GeneratedTask, rng: np.random.Generator, total: int
                ) -> list[tuple[str, str]]:
    """``total`` (prompt, completion) rows of the compact format, with the recipe's imperfections."""
    from teachenv.student.tiny_model import skill_probabilities

    skills = list(task.skills)
    skill_of = rng.choice(len(skills), size=total, p=skill_probabilities(recipe, task))
    pools = {s: list(task.generate(s, int((skill_of == i).sum()) + total // 10 + 1, rng))
             for i, s in enumerate(skills)}
    cursor = dict.fromkeys(skills, 0)

    def draw(skill: str) -> Any:
        item = pools[skill][cursor[skill] % len(pools[skill])]
        cursor[skill] += 1
        return item.example

    rows = []
    for index in skill_of:
        skill = skills[int(index)]
        off = rng.random() < recipe.off_skill_rate
        example = draw(skills[int(rng.integers(len(skills)))] if off else skill)
        answer = example.answer
        if rng.random() < recipe.wrong_rate and answer.lstrip("-").isdigit():
            answer = str(max(0, int(answer) + int(rng.choice([-1, 1])) * int(rng.integers(1, 10))))
        if rng.random() < recipe.solve_share:
            rows.append((solving_prompt(example.prompt), answer))
        else:
            params = example.params if rng.random() < 0.5 and not off else {}
            rows.append((writing_prompt(skill, params), example.prompt + answer))
    return rows


def _build(staging: Path, recipe: TinyTeacherRecipe, task: GeneratedTask) -> None:
    import torch

    from teachenv.student.tiny_model import build_tiny_model, run_pretraining, write_build_record

    start = time.perf_counter()
    model, tokenizer = build_tiny_model(recipe)  # type: ignore[arg-type]  # the fields build_tiny_model reads
    rng = np.random.default_rng(recipe.seed)
    rows = corpus_rows(recipe, task, rng, recipe.pretrain_steps * recipe.batch_size)
    encode = tokenizer.backend_tokenizer.encode_batch
    prompts = [e.ids for e in encode([p for p, _ in rows], add_special_tokens=True)]
    answers = [e.ids for e in encode([c for _, c in rows], add_special_tokens=False)]
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    lengths = [len(p) + len(a) + 1 for p, a in zip(prompts, answers, strict=True)]
    width = max(lengths)
    input_ids = torch.tensor([p + a + [eos] + [pad] * (width - n) for p, a, n in zip(prompts, answers, lengths, strict=True)])
    labels = torch.tensor([[-100] * len(p) + a + [eos] + [-100] * (width - n)
                           for p, a, n in zip(prompts, answers, lengths, strict=True)])

    def loss_at(step: int) -> Any:
        rows_ = slice(step * recipe.batch_size, (step + 1) * recipe.batch_size)
        ids = input_ids[rows_]
        return model(input_ids=ids, attention_mask=(ids != pad).long(), labels=labels[rows_]).loss

    run_pretraining(model, recipe, loss_at, progress=False, description="pretraining tiny teacher", log_every=100)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    report = {"pretrain_seconds": round(time.perf_counter() - start, 2),
              "parameters": sum(p.numel() for p in model.parameters()), "build_version": BUILD_VERSION,
              "verified_accept_rate": verified_accept_rate(model, tokenizer, task, per_skill=40, seed=recipe.seed)}
    write_build_record(staging, recipe, task, report)


def sample(model: Any, tokenizer: Any, prompts: Sequence[str], *, temperature: float, seed: int | None,
           top_p: float = 1.0, max_new_tokens: int = 24, batch_size: int = 256) -> list[GenerationResult]:
    """One sampled completion per compact prompt (greedy at temperature 0), in order, with token counts."""
    from teachenv.engines.base import GenerationRequest
    from teachenv.engines.transformers_backend import TransformersBackend

    backend = TransformersBackend(model, tokenizer, batch_size=batch_size, model_name="tiny-teacher")
    return backend.generate([GenerationRequest(prompt=p, temperature=temperature, top_p=top_p, seed=seed,
                                               max_new_tokens=max_new_tokens) for p in prompts])


def draft_verified(task: GeneratedTask, skill: str, text: str) -> bool:
    """Whether the task's verifier accepts a written completion ``<question><answer>`` as an example of ``skill``."""
    question, answer = split_example(text)
    return task.verify(task.candidate(skill, question, answer or "?", "tiny-teacher")).accepted


def verified_accept_rate(model: Any, tokenizer: Any, task: GeneratedTask, *, per_skill: int, seed: int,
                         temperature: float = 1.0) -> dict[str, float]:
    """Share of written examples (``per_skill`` per skill, skill tag only) the task's verifier accepts."""
    rates = {}
    for skill in task.skills:
        results = sample(model, tokenizer, [writing_prompt(skill)] * per_skill, temperature=temperature, seed=seed)
        rates[skill] = sum(draft_verified(task, skill, r.text) for r in results) / per_skill
    return rates
