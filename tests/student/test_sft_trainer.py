"""LeanSFTTrainer: the fused LM head computes log-probabilities only on teachenv's configuration, keeps TRL's
outputs on any other; on CPU small logits take the model's own loss (the same value), large ones the fused head;
the TRL methods it builds on are still there; and a student's training leaves its base model's forward as it was."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from teachenv.core.config import StudentConfig, TinyStudentRecipe, TrainConfig
from teachenv.student.lora_student import LoRAStudent, _checkpointing_argument
from teachenv.tasks.arith.task import ArithConfig, ArithTask

PLUMBING = TinyStudentRecipe(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, pretrain_steps=0)


@pytest.fixture(scope="module")
def student() -> LoRAStudent:
    task = ArithTask(ArithConfig(val_per_skill=2, test_per_skill=2))
    config = StudentConfig(model="plumbing", tiny=PLUMBING, train=TrainConfig(max_steps=1, batch_size=4))
    return LoRAStudent(config, task)


def fused_outputs(student: LoRAStudent, tmp_path, *, with_outputs: bool = False, **options):
    """One batch through a freshly built LeanSFTTrainer's fused head, and the trainer, and its ``compute_loss``
    (with the outputs it computed the loss from when ``with_outputs``)."""
    from trl import SFTConfig

    from teachenv.student.sft_trainer import LeanSFTTrainer

    rows = student.task.generate("add", 4, np.random.default_rng(0))
    args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", bf16=False, fp16=False,
                     per_device_train_batch_size=4, completion_only_loss=True,
                     **{_checkpointing_argument(SFTConfig): False}, **options)
    adapter = student._new_adapter(seed=0)
    try:
        trainer = LeanSFTTrainer(model=adapter, args=args, train_dataset=student._train_dataset(rows),
                                 processing_class=student.tokenizer)
        batch = next(iter(trainer.get_train_dataloader()))
        outputs = trainer.model(**batch, fused_lm_head=True)
        loss = trainer.compute_loss(trainer.model, dict(batch), return_outputs=with_outputs)
    finally:
        vars(student.base).pop("forward", None)
        student.base = adapter.unload()
    return trainer, outputs, loss


def test_teachenvs_configuration_gets_log_probabilities_only(student, tmp_path):
    trainer, outputs, loss = fused_outputs(student, tmp_path)
    assert trainer.lean
    assert outputs.log_probs is not None and outputs.entropy is None and outputs.is_top1 is None
    assert float(loss.detach()) == pytest.approx(float(-outputs.log_probs.detach().sum() / outputs.label_mask.sum()))
    assert not trainer._metrics["train"]  # no per-step metric was computed


def test_any_other_loss_keeps_trls_head_and_metrics(student, tmp_path):
    trainer, outputs, _ = fused_outputs(student, tmp_path, loss_type="dft")
    assert not trainer.lean
    assert outputs.entropy is not None and outputs.is_top1 is not None
    assert "mean_token_accuracy" in trainer._metrics["train"]


def test_training_leaves_the_base_models_forward_unpatched(student):
    student.train(student.task.generate("add", 4, np.random.default_rng(1)), seed=0)
    assert "forward" not in vars(student.base)
    student.reset(seed=0)


def test_on_cpu_small_logits_take_the_models_own_loss_with_the_fused_heads_value(student, tmp_path):
    trainer, fused, (loss, outputs) = fused_outputs(student, tmp_path, with_outputs=True)
    assert outputs.logits is not None and not hasattr(outputs, "log_probs")  # the model's own forward and loss
    expected = -fused.log_probs.detach().sum() / fused.label_mask.sum()
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-5)


def test_on_cpu_large_logits_keep_the_fused_head(student, tmp_path, monkeypatch):
    from teachenv.student import sft_trainer

    monkeypatch.setattr(sft_trainer, "MODEL_LOSS_MAX_LOGITS", 0)
    _, fused, (loss, outputs) = fused_outputs(student, tmp_path, with_outputs=True)
    assert outputs.log_probs is not None and outputs.entropy is None
    assert float(loss.detach()) == float(-fused.log_probs.detach().sum() / fused.label_mask.sum())


def test_the_trl_methods_lean_trainer_builds_on_are_unchanged(student, tmp_path):
    """If this fails, TRL changed what ``LeanSFTTrainer`` overrides or relies on: re-read TRL's ``compute_loss``
    and ``__init__`` (the fused head patch) and update ``teachenv/student/sft_trainer.py``."""
    import torch
    from trl import SFTConfig, SFTTrainer

    assert list(inspect.signature(SFTTrainer.compute_loss).parameters) == [
        "self", "model", "inputs", "return_outputs", "num_items_in_batch"]
    rows = student.task.generate("add", 4, np.random.default_rng(0))
    args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", bf16=False, fp16=False,
                     completion_only_loss=True, **{_checkpointing_argument(SFTConfig): False})
    adapter = student._new_adapter(seed=0)
    try:
        SFTTrainer(model=adapter, args=args, train_dataset=student._train_dataset(rows),
                   processing_class=student.tokenizer)
        assert "forward" in vars(student.base)  # TRL patches the fused head onto the base model's instance
        ids = torch.tensor([[1, 2, 3, 4]])
        assert student.base(input_ids=ids, labels=ids, fused_lm_head=True).log_probs.shape == (1, 3)
    finally:
        vars(student.base).pop("forward", None)
        student.base = adapter.unload()
