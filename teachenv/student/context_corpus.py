"""The pretraining corpus of the tiny student that reads its context (``student.model: tiny-context``).

A sequence is ``recipe.context_exemplars`` (fewest, most; by default exactly one) exemplars of one skill, each
written as the feedback module renders an in-context exemplar (``prompt + answer + SEPARATOR``), then an item of
the same skill and its answer:

    <bos>12+34=46\\n40+17=57<eos>

The loss is on every answer (and the final ``<eos>``), not on the prompts or separators, so one sequence trains
every answer in it and the student keeps answering alone (the first answer of a sequence has no context).

**Why some sequences carry a wrong offset.** Had every exemplar been correct, the item's answer would never
depend on its exemplars (the operands differ), the student would learn to ignore them, and a correct exemplar
would score no better than a corrupted one: the in-context signal would stay flat, as it is on the quick-start
student. Had some exemplars been wrong while the item stayed correct, the student would learn the same thing
(ignore the exemplars). So in ``recipe.wrong_share`` of the sequences that have exemplars, *every* answer is
the correct one plus one offset, a non-zero integer in ``[-max_offset, max_offset]`` drawn per sequence: the
exemplars show the offset and the item follows it. The item's answer is then computable from the exemplar
(its own correct answer plus the exemplar's error), so to predict it the student must check the exemplar
against its own arithmetic; a correct exemplar says "offset 0" and helps, a wrong one moves the prediction
off the gold answer. That is what makes the in-context score informative about an exemplar's correctness,
and the offsets are those of the ``noisy`` draft source and of ``benchmarks/bench_feedback.py``'s corruption
(an integer added to the answer). The first answer of a shifted sequence is left out of the loss (nothing
before it shows the offset: it would only be label noise on answering alone), and sequences without
exemplars are never shifted, so the student's accuracy alone is trained on correct answers only. An answer
that is not an integer is never shifted (its sequence stays correct).

The corpus depends on the recipe's seed alone, like the quick-start student's. This module knows the
sequence format and the labels, not the model or the training loop (``tiny_model.pretrain`` runs it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teachenv.core.config import TinyContextRecipe
from teachenv.core.errors import ConfigError
from teachenv.student.feedback import SEPARATOR

if TYPE_CHECKING:
    import numpy as np
    import torch
    from transformers import PreTrainedTokenizerFast

    from teachenv.tasks.base import GeneratedTask

#: Part of the tiny-context student's cache key: bump when the corpus or the sequence format changes.
CONTEXT_BUILD_VERSION = 1
IGNORE = -100


def shifted(answer: str, offset: int) -> str | None:
    """``answer`` plus ``offset`` as an integer string (None when ``answer`` is not an integer)."""
    try:
        return str(int(answer.strip()) + offset)
    except ValueError:
        return None


def context_sequences(recipe: TinyContextRecipe, task: GeneratedTask,
                      rng: np.random.Generator) -> list[tuple[list[tuple[str, str]], int]]:
    """``pretrain_steps * batch_size`` sequences: per sequence its (prompt, answer) pairs, exemplars first and
    the item last, with the answers as trained (shifted where the sequence is), and its offset (0: correct)."""
    import numpy as np

    from teachenv.student.tiny_model import skill_probabilities

    total = recipe.pretrain_steps * recipe.batch_size
    low, high = recipe.context_exemplars
    skill_of = rng.choice(len(task.skills), size=total, p=skill_probabilities(recipe, task))
    exemplars = rng.integers(low, high + 1, size=total)
    wrong = (exemplars > 0) & (rng.random(total) < recipe.wrong_share)
    magnitude = rng.integers(1, recipe.max_offset + 1, size=total)
    offsets = np.where(wrong, magnitude * np.where(rng.random(total) < 0.5, 1, -1), 0)
    pairs: list[list[tuple[str, str]]] = [[] for _ in range(total)]
    for index, skill in enumerate(task.skills):
        slots = np.flatnonzero(skill_of == index)
        wanted = int((exemplars[slots] + 1).sum())
        items = iter(task.generate(skill, wanted, rng))
        for slot in slots:
            for _ in range(int(exemplars[slot]) + 1):
                example = next(items)
                pairs[slot].append((task.prompt(example.example), example.completion))
    sequences = []
    for slot, sequence in enumerate(pairs):
        offset = int(offsets[slot])
        if offset:
            moved = [shifted(answer, offset) for _, answer in sequence]
            if all(m is not None for m in moved):
                sequence = [(prompt, m) for (prompt, _), m in zip(sequence, moved, strict=True)]
            else:
                offset = 0
        sequences.append((sequence, offset))
    return sequences


def context_corpus(recipe: TinyContextRecipe, task: GeneratedTask, tokenizer: PreTrainedTokenizerFast,
                   rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The sequences of ``context_sequences`` as right-padded (input_ids, labels, lengths), as
    ``tiny_model.pretraining_corpus`` returns them: labels on every answer and the final eos, except the
    first answer of a shifted sequence."""
    import torch

    sequences = context_sequences(recipe, task, rng)
    encode = tokenizer.backend_tokenizer.encode_batch
    texts = [text for sequence, _ in sequences for pair in sequence for text in pair]
    ids = iter(e.ids for e in encode(texts, add_special_tokens=False))
    separator = tokenizer(SEPARATOR, add_special_tokens=False).input_ids
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    rows: list[tuple[list[int], list[int]]] = []
    for sequence, offset in sequences:
        tokens, labels = [bos], [IGNORE]
        for position in range(len(sequence)):
            prompt, answer = next(ids), next(ids)
            last = position == len(sequence) - 1
            tail = [eos] if last else separator
            trained = not (offset and position == 0)
            tokens += prompt + answer + tail
            labels += [IGNORE] * len(prompt) + (answer if trained else [IGNORE] * len(answer))
            labels += [eos] if last else [IGNORE] * len(separator)
        rows.append((tokens, labels))
    width = max(len(tokens) for tokens, _ in rows)
    if width > recipe.max_positions:
        raise ConfigError(
            f"A pretraining sequence has {width} tokens, more than student.tiny_context.max_positions "
            f"({recipe.max_positions}); raise max_positions or lower context_exemplars."
        )
    input_ids = torch.tensor([tokens + [pad] * (width - len(tokens)) for tokens, _ in rows])
    label_ids = torch.tensor([labels + [IGNORE] * (width - len(labels)) for _, labels in rows])
    return input_ids, label_ids, torch.tensor([len(tokens) for tokens, _ in rows])


def describe(sequence: list[tuple[str, str]]) -> str:
    """A sequence as the student reads it (without bos / eos): for logs and tests."""
    return SEPARATOR.join(prompt + answer for prompt, answer in sequence)

