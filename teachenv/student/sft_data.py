"""TRL's preparation of prompt-completion rows for ``SFTTrainer``, done in plain Python.

Given prompt-completion rows, TRL 1.x's ``SFTTrainer`` prepares them with five ``datasets`` passes (append eos to
plain completions, tokenise, build the labels from the completion mask, truncate to ``max_length``, drop rows left
with no completion token), and the trainer then drops the ``prompt`` / ``completion`` columns (one more pass). Each
pass fingerprints itself by dill-hashing its function and arguments: for a round's few rows that bookkeeping costs
more than the tokenising. ``prepare_prompt_completions`` builds the same ``input_ids`` and ``labels`` directly, in
the same row order, and ``LoRAStudent`` hands them to TRL with ``dataset_kwargs={"skip_prepare_dataset": True}``.

What it reproduces is TRL's path for teachenv's configuration: prompt-completion rows (plain text, or
conversational ``[{"role", "content"}]`` messages rendered by the tokenizer's chat template with no template
override and no tools), ``completion_only_loss=True``, no ``assistant_only_loss``, no packing, truncation
``keep_start``. The completion starts where the tokenised prompt and the tokenised prompt + completion diverge
(TRL's ``common_prefix_length``); labels are the ids with every prompt position set to -100.
``tests/student/test_sft_data.py`` compares the result, row by row, with what TRL's own preparation gives for
plain and chat rows, truncation and dropped rows, so a TRL release that prepares rows differently fails there.

This module knows nothing about students, tasks or rounds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

#: TRL's label for a position that does not count in the loss.
IGNORED = -100

logger = logging.getLogger(__name__)


def prepare_prompt_completions(tokenizer: Any, prompts: Sequence[str | list[dict[str, Any]]],
                               completions: Sequence[str | list[dict[str, Any]]], *,
                               max_length: int | None) -> dict[str, list[list[int]]]:
    """``{"input_ids": [...], "labels": [...]}`` for the rows, as TRL's ``SFTTrainer`` prepares them (see the module
    docstring); rows whose completion is cut away entirely by ``max_length`` are dropped, as TRL drops them."""
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions: give one completion per prompt.")
    input_ids: list[list[int]] = []
    labels: list[list[int]] = []
    diverged = 0
    for prompt, completion in zip(prompts, completions, strict=True):
        if isinstance(prompt, list):  # conversational: the chat template renders the turns (TRL adds no eos)
            prompt_ids = tokenizer.apply_chat_template(prompt, tokenize=True, return_dict=True,
                                                       add_generation_prompt=True)["input_ids"]
            ids = tokenizer.apply_chat_template(prompt + list(completion), tokenize=True, return_dict=True,
                                                return_assistant_tokens_mask=False)["input_ids"]
        else:
            if not completion.endswith(tokenizer.eos_token):  # TRL's "Adding EOS" pass
                completion = completion + tokenizer.eos_token
            prompt_ids = tokenizer(text=prompt)["input_ids"]
            ids = tokenizer(text=prompt + completion)["input_ids"]
        start = _common_prefix_length(prompt_ids, ids)
        diverged += start < len(prompt_ids)
        row_labels = [IGNORED] * start + list(ids[start:])
        if max_length is not None:  # truncation_mode="keep_start"
            ids, row_labels = ids[:max_length], row_labels[:max_length]
        if all(label == IGNORED for label in row_labels):
            continue  # nothing left to learn from: TRL filters such rows out
        input_ids.append(list(ids))
        labels.append(row_labels)
    if diverged:
        logger.warning("%d of %d tokenised prompts are not a prefix of their tokenised prompt + completion; their "
                       "completions start where the two diverge, as in TRL.", diverged, len(prompts))
    return {"input_ids": input_ids, "labels": labels}


def _common_prefix_length(ids: Sequence[int], other: Sequence[int]) -> int:
    n = 0
    for a, b in zip(ids, other):
        if a != b:
            break
        n += 1
    return n
