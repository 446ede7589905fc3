"""Building the tiny student: deterministic, cached atomically, plumbing never cached."""

from __future__ import annotations

import json

import pytest
import torch

import teachenv.student.tiny_model as tiny_model
from teachenv.core.config import TinyStudentRecipe
from teachenv.core.errors import ConfigError
from teachenv.student.tiny_model import build_tiny_model, load_or_build_tiny, tiny_student_path
from teachenv.tasks.arith.task import ArithConfig, ArithTask

SMALL = TinyStudentRecipe(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, pretrain_steps=3,
                          batch_size=4, warmup_steps=1)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def task():
    return ArithTask(ArithConfig(val_per_skill=4, test_per_skill=4))


def test_plumbing_model_is_built_in_memory_and_not_cached(home, task):
    model, tokenizer = load_or_build_tiny(SMALL.model_copy(update={"pretrain_steps": 0}), task)
    assert model.config.vocab_size == len(tokenizer) and not model.training
    assert not (home / "students").exists()


def test_same_seed_gives_the_same_weights():
    first, _ = build_tiny_model(SMALL)
    second, _ = build_tiny_model(SMALL)
    other, _ = build_tiny_model(SMALL.model_copy(update={"seed": 1}))
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first.parameters(), other.parameters(), strict=True))


def test_pretrained_student_is_cached_with_recipe_and_report(home, task):
    model, _ = load_or_build_tiny(SMALL, task)
    path = tiny_student_path(SMALL, task)
    assert path.parent == home / "students" and path.name.startswith("tiny-")
    assert {"config.json", "model.safetensors", "tokenizer.json", "recipe.json", "report.json"} <= {
        p.name for p in path.iterdir()}
    report = json.loads((path / "report.json").read_text())
    assert set(report["val_accuracy"]) == set(task.skills) and report["pretrain_seconds"] >= 0
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging directory left
    reloaded, _ = load_or_build_tiny(SMALL, task)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), reloaded.parameters(), strict=True))


def test_cache_key_changes_with_recipe_and_generated_data_only(home, task):
    path = tiny_student_path(SMALL, task)
    assert tiny_student_path(SMALL.model_copy(update={"seed": 1}), task) != path
    assert tiny_student_path(SMALL, ArithTask(ArithConfig(holdout=0.1))) != path
    assert tiny_student_path(SMALL, ArithTask(ArithConfig(digits=3))) != path
    # Eval split sizes do not change the pretraining corpus, so they must not force a rebuild.
    assert tiny_student_path(SMALL, ArithTask(ArithConfig(val_per_skill=5, test_per_skill=4))) == path


def test_a_builder_that_loses_the_race_uses_the_winners_build(home, task, monkeypatch):
    real_pretrain = tiny_model.pretrain

    def pretrain_while_another_process_finishes(model, tokenizer, recipe, task, *, progress=False):
        winner = tiny_student_path(recipe, task)
        winner.mkdir(parents=True)
        (winner / "from-the-winner").write_text("")
        return real_pretrain(model, tokenizer, recipe, task, progress=progress)

    monkeypatch.setattr(tiny_model, "pretrain", pretrain_while_another_process_finishes)
    monkeypatch.setattr(tiny_model, "load_tiny", lambda path: path)
    assert load_or_build_tiny(SMALL, task) == tiny_student_path(SMALL, task)
    assert [p.name for p in (home / "students").iterdir()] == [tiny_student_path(SMALL, task).name]
    assert (tiny_student_path(SMALL, task) / "from-the-winner").exists()


def test_unknown_skill_weight_is_a_config_error(home, task):
    with pytest.raises(ConfigError, match="skill_weights.*'div'"):
        load_or_build_tiny(SMALL.model_copy(update={"skill_weights": {"div": 2.0}}), task)
