"""LoRAStudent on the untrained plumbing model: training, continual vs retrain, reset, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from teachenv.core.config import StudentConfig, TinyStudentRecipe, TrainConfig
from teachenv.core.records import TrainingExample
from teachenv.student.lora_student import LoRAStudent
from teachenv.tasks.arith.task import ArithConfig, ArithTask

PLUMBING = TinyStudentRecipe(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, pretrain_steps=0)
LR = 1e-3


@pytest.fixture(scope="module")
def task():
    return ArithTask(ArithConfig(val_per_skill=8, test_per_skill=8))


def make_student(task, mode="continual", max_steps=2) -> LoRAStudent:
    config = StudentConfig(model="plumbing", tiny=PLUMBING,
                           train=TrainConfig(mode=mode, max_steps=max_steps, batch_size=8, learning_rate=LR))
    return LoRAStudent(config, task)


def examples(task, skill: str, n: int, seed: int) -> list[TrainingExample]:
    return task.generate(skill, n, np.random.default_rng(seed))


def lora_weights(student: LoRAStudent) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in student.model.named_parameters() if "lora_" in k}


def base_weights(student: LoRAStudent) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in student.base.state_dict().items()}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_plumbing_forces_an_untrained_model(task):
    config = StudentConfig(model="plumbing", tiny=PLUMBING.model_copy(update={"pretrain_steps": 5}))
    student = LoRAStudent(config, task)
    assert student.adapter is None and sum(p.numel() for p in student.base.parameters()) < 10_000


def test_training_changes_the_adapter_and_reports_metrics(task):
    student = make_student(task)
    metrics = student.train(examples(task, "sub", 16, seed=0), seed=0)
    assert metrics.examples == 16 and metrics.steps == 2
    assert metrics.train_loss is not None and metrics.train_loss > 0
    weights = lora_weights(student)
    assert metrics.trainable_parameters == sum(w.numel() for w in weights.values())
    lora_b = [w for k, w in weights.items() if "lora_B" in k]
    assert lora_b and all(w.abs().sum() > 0 for w in lora_b)  # B starts at zero; training moved it
    assert not student.model.training


def test_no_examples_means_no_training(task):
    student = make_student(task)
    assert student.train([], seed=0).model_dump() == {"examples": 0, "steps": 0, "train_loss": None,
                                                      "trainable_parameters": 0}
    assert student.adapter is None


def test_continual_mode_keeps_training_the_same_adapter(task):
    student = make_student(task, max_steps=1)
    student.train(examples(task, "sub", 16, seed=0), seed=0)
    adapter, after_first = student.adapter, lora_weights(student)
    metrics = student.train(examples(task, "mul", 16, seed=1), seed=1)
    after_second = lora_weights(student)
    assert student.adapter is adapter and metrics.examples == 16
    # One Adam step moves each weight by about the learning rate: round 2 started from round 1's weights.
    for key, weight in after_first.items():
        assert torch.allclose(after_second[key], weight, atol=2 * LR), key
    assert any(not torch.equal(after_second[k], after_first[k]) for k in after_first)
    # A fresh adapter for seed 1 would start somewhere else entirely.
    fresh = make_student(task, max_steps=1)
    fresh.train(examples(task, "mul", 16, seed=1), seed=1)
    fresh_a = {k: w for k, w in lora_weights(fresh).items() if "lora_A" in k}
    assert any(not torch.allclose(after_second[k], w, atol=10 * LR) for k, w in fresh_a.items())


def test_retrain_mode_trains_a_fresh_adapter_on_all_data_so_far(task):
    first, second = examples(task, "sub", 12, seed=0), examples(task, "mul", 12, seed=1)
    student = make_student(task, mode="retrain")
    student.train(first, seed=0)
    metrics = student.train(second, seed=1)
    assert metrics.examples == 24
    reference = make_student(task, mode="retrain")
    reference.train(first + second, seed=1)
    assert_same(lora_weights(student), lora_weights(reference))


def test_reset_restores_the_base_weights_byte_identically(task):
    student = make_student(task)
    start = base_weights(student)
    report_before, predictions_before = student.evaluate("val")
    student.train(examples(task, "sub", 16, seed=0), seed=0)
    student.train(examples(task, "add", 16, seed=1), seed=1)
    student.reset(seed=0)
    assert student.adapter is None and student.examples == []
    assert_same(base_weights(student), start)
    assert not any("lora" in name for name, _ in student.model.named_modules())
    assert student.evaluate("val") == (report_before, predictions_before)


def test_same_seed_and_data_give_identical_adapters_and_predictions(task):
    data = examples(task, "sub", 16, seed=0)
    runs = []
    for _ in range(2):
        student = make_student(task)
        student.train(data, seed=3)
        runs.append((lora_weights(student), student.evaluate("val")))
    assert_same(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def test_training_leaves_the_global_torch_rng_alone(task):
    student = make_student(task)
    state = torch.get_rng_state()
    student.train(examples(task, "sub", 8, seed=0), seed=5)
    assert torch.equal(torch.get_rng_state(), state)


def test_evaluate_reports_every_skill_in_task_order(task):
    student = make_student(task)
    report, predictions = student.evaluate("val")
    assert report.split == "val"
    assert [s.skill for s in report.skills] == list(task.skills)
    split = task.load("val")
    for skill_report in report.skills:
        assert skill_report.n == sum(e.skill == skill_report.skill for e in split)
        assert skill_report.correct == sum(p.correct for p in predictions if p.skill == skill_report.skill)
    assert [p.example_id for p in predictions] == [e.id for e in split]
    assert all(p.prompt == task.prompt(e) for p, e in zip(predictions, split, strict=True))


def test_save_adapter_writes_the_adapter_only_once_trained(task, tmp_path):
    student = make_student(task)
    student.save_adapter(tmp_path / "none")
    assert not (tmp_path / "none").exists()
    student.train(examples(task, "sub", 8, seed=0), seed=0)
    student.save_adapter(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()


def test_training_leaves_no_files_behind(task, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    make_student(task).train(examples(task, "sub", 8, seed=0), seed=0)
    assert [p.name for p in tmp_path.iterdir()] == ["tmp"]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_any_hugging_face_model_path_goes_in_the_same_slot(task, tmp_path):
    from teachenv.student.tiny_model import build_tiny_model

    model, tokenizer = build_tiny_model(PLUMBING)
    model.save_pretrained(tmp_path / "local-model")
    tokenizer.save_pretrained(tmp_path / "local-model")
    config = StudentConfig(model=str(tmp_path / "local-model"),
                           train=TrainConfig(max_steps=2, batch_size=8, learning_rate=LR))
    student = LoRAStudent(config, task)
    before, _ = student.evaluate("val")
    assert [s.n for s in before.skills] == [8] * len(task.skills)
    metrics = student.train(examples(task, "sub", 8, seed=0), seed=0)
    assert metrics.steps == 2 and metrics.trainable_parameters > 0
    student.save_adapter(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()


def test_the_checkpointing_switch_follows_the_installed_transformers_spelling():
    from dataclasses import dataclass

    from teachenv.student.lora_student import _checkpointing_argument

    @dataclass
    class Before520:  # transformers < 5.20 (as vLLM 0.32 pins)
        gradient_checkpointing: bool = False

    @dataclass
    class From520:
        activation_checkpointing: bool = False

    assert _checkpointing_argument(Before520) == "gradient_checkpointing"
    assert _checkpointing_argument(From520) == "activation_checkpointing"


def test_epochs_make_the_optimizer_steps_follow_the_data(task):
    config = StudentConfig(model="plumbing", tiny=PLUMBING, train=TrainConfig(
        mode="retrain", max_steps=None, epochs=1.5, batch_size=8, learning_rate=LR))
    retrain = LoRAStudent(config, task)
    assert retrain.train(examples(task, "sub", 16, seed=0), seed=0).steps == 3  # ceil(1.5 * 16 / 8)
    assert retrain.train(examples(task, "add", 16, seed=1), seed=1).steps == 6  # all 32 examples so far
    continual = LoRAStudent(config.model_copy(update={"train": config.train.model_copy(update={"mode": "continual"})}),
                            task)
    continual.train(examples(task, "sub", 16, seed=0), seed=0)
    assert continual.train(examples(task, "add", 5, seed=1), seed=1).steps == 1  # the new 5: ceil(0.94)


def test_building_and_training_hand_every_frozen_object_back_to_the_collector(task):
    """The student's build and training let the collector skip long-lived objects (``core.collector``); after
    each, nothing stays frozen, so garbage made before them is still freed."""
    import gc

    assert gc.get_freeze_count() == 0
    student = make_student(task)
    assert gc.get_freeze_count() == 0
    student.train(examples(task, "sub", 8, seed=0), seed=0)
    assert gc.get_freeze_count() == 0
