"""LeanSFTTrainer: the fused LM head computes log-probabilities only on teachenv's configuration, keeps TRL's
outputs on any other, and a student's training leaves its base model's forward as it was."""

from __future__ import annotations

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


def fused_outputs(student: LoRAStudent, tmp_path, **options):
    """One batch through a freshly built LeanSFTTrainer's fused head, and the trainer."""
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
        loss = trainer.compute_loss(trainer.model, dict(batch))
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
