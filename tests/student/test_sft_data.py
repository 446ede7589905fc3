"""sft_data: the rows a student hands TRL already prepared are exactly what TRL's own preparation makes of them
(tokens, labels, truncation, dropped rows; plain and chat prompts), so the batches, the loss of every step and the
trained adapter are the same with either; if a TRL release prepares rows differently, these tests fail."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from teachenv.core.config import StudentConfig, TinyStudentRecipe, TrainConfig
from teachenv.student.lora_student import LoRAStudent, _checkpointing_argument
from teachenv.student.sft_data import IGNORED, prepare_prompt_completions
from teachenv.tasks.arith.task import ArithConfig, ArithTask

PLUMBING = TinyStudentRecipe(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, pretrain_steps=0)


def make_student(prompt_style: str = "plain", max_steps: int = 1) -> LoRAStudent:
    task = ArithTask(ArithConfig(val_per_skill=2, test_per_skill=2, prompt_style=prompt_style))
    config = StudentConfig(model="plumbing", tiny=PLUMBING,
                           train=TrainConfig(max_steps=max_steps, batch_size=4, learning_rate=1e-2))
    return LoRAStudent(config, task)


def rows(student: LoRAStudent, n: int = 8, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [ex for skill in student.task.skills for ex in student.task.generate(skill, n, rng)]


def trl_prepared(student: LoRAStudent, data: list, tmp_path, **options) -> dict[str, list[list[int]]]:
    """The train dataset of TRL's own ``SFTTrainer`` after its preparation, as teachenv configures it."""
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", bf16=False, fp16=False,
                     packing=False, completion_only_loss=True, **{_checkpointing_argument(SFTConfig): False},
                     **options)
    adapter = student._new_adapter(seed=0)
    try:
        dataset = SFTTrainer(model=adapter, args=args, train_dataset=student._train_dataset(data),
                             processing_class=student.tokenizer).train_dataset
    finally:
        vars(student.base).pop("forward", None)
        student.base = adapter.unload()
    return {"input_ids": dataset["input_ids"], "labels": dataset["labels"]}


def ours(student: LoRAStudent, data: list, max_length: int | None) -> dict[str, list[list[int]]]:
    prompts, completions = student._prompts_and_completions(data)
    return prepare_prompt_completions(student.tokenizer, prompts, completions, max_length=max_length)


@pytest.mark.parametrize("prompt_style", ["plain", "chat"])
def test_rows_are_prepared_exactly_as_trl_prepares_them(prompt_style, tmp_path):
    student = make_student(prompt_style)
    data = rows(student)
    max_length = student.base.config.max_position_embeddings
    expected = trl_prepared(student, data, tmp_path, max_length=max_length)
    got = ours(student, data, max_length)
    assert got == expected
    # Not vacuous: every row has prompt positions masked and completion tokens (ending in eos) to learn.
    eos = student.tokenizer.eos_token_id
    for ids, labels in zip(got["input_ids"], got["labels"], strict=True):
        start = next(i for i, label in enumerate(labels) if label != IGNORED)
        assert 0 < start < len(ids) == len(labels)
        assert set(labels[:start]) == {IGNORED} and labels[start:] == ids[start:]
        if prompt_style == "plain":
            assert ids[-1] == eos


def test_truncation_and_dropped_rows_match_trl(tmp_path):
    student = make_student()
    data = rows(student)
    lengths = [len(ids) for ids in ours(student, data, None)["input_ids"]]
    prompt_lengths = [labels.index(next(x for x in labels if x != IGNORED))
                      for labels in ours(student, data, None)["labels"]]
    # Long enough to keep some completions (cut), short enough to cut some away entirely.
    max_length = sorted(prompt_lengths)[len(prompt_lengths) // 2]
    assert min(prompt_lengths) < max_length <= max(prompt_lengths) and max_length < max(lengths)
    expected = trl_prepared(student, data, tmp_path, max_length=max_length)
    got = ours(student, data, max_length)
    assert got == expected
    assert 0 < len(got["input_ids"]) < len(data)


def test_training_on_prepared_rows_gives_trls_batches_losses_and_adapter(monkeypatch):
    """The same round trained twice: on rows prepared here, and with TRL preparing them (the path before)."""
    from teachenv.student import sft_trainer

    trl_compute_loss = sft_trainer.LeanSFTTrainer.compute_loss
    seen: list[tuple[dict[str, torch.Tensor], float]] = []

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001, ANN202
        batch = {k: inputs[k].clone() for k in ("input_ids", "labels", "attention_mask")}
        loss = trl_compute_loss(self, model, inputs, return_outputs, num_items_in_batch)
        seen.append((batch, float(loss.detach())))
        return loss

    monkeypatch.setattr(sft_trainer.LeanSFTTrainer, "compute_loss", compute_loss)

    def train(prepared_here: bool):
        student = make_student(max_steps=3)
        if not prepared_here:
            monkeypatch.setattr(student, "_sft_dataset", lambda r, max_length: (student._train_dataset(r), False))
        seen.clear()
        metrics = student.train(rows(student, n=6, seed=1), seed=7)
        weights = {k: v.detach().clone() for k, v in student.model.named_parameters() if "lora_" in k}
        return list(seen), metrics, weights

    steps, metrics, weights = train(prepared_here=True)
    trl_steps, trl_metrics, trl_weights = train(prepared_here=False)
    assert len(steps) == len(trl_steps) == metrics.steps == 3
    for (batch, loss), (trl_batch, trl_loss) in zip(steps, trl_steps, strict=True):
        assert batch.keys() == trl_batch.keys()
        assert all(torch.equal(batch[k], trl_batch[k]) for k in batch)
        assert loss == trl_loss
    assert metrics.train_loss == trl_metrics.train_loss
    assert weights.keys() == trl_weights.keys() and weights
    assert all(torch.equal(weights[k], trl_weights[k]) for k in weights)
