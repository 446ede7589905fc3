"""A cached student's report says which split its accuracies were measured on, and compares only with that split.

The cache key leaves split sizes out, so two configs that differ only in ``val_per_skill`` share one student and
its report; the report's numbers belong to the split of the config that built it.
"""

from __future__ import annotations

import pytest

from teachenv.core.config import TinyStudentRecipe
from teachenv.student.build_report import (
    describe_measurement,
    measured_on_same_split,
    read_report,
    split_record,
)
from teachenv.student.tiny_model import load_or_build_tiny, tiny_student_path
from teachenv.tasks.arith.task import ArithConfig, ArithTask

SMALL = TinyStudentRecipe(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, pretrain_steps=3,
                          batch_size=4, warmup_steps=1)


def test_the_report_records_its_split_and_compares_only_with_the_same_split(tmp_path, monkeypatch):
    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path))
    built_by, other = ArithTask(ArithConfig(val_per_skill=4, test_per_skill=2)), ArithTask(ArithConfig(val_per_skill=3))
    load_or_build_tiny(SMALL, built_by)
    path = tiny_student_path(SMALL, other)
    assert path == tiny_student_path(SMALL, built_by)  # one student for both configs: the key ignores split sizes
    report = read_report(path)
    measured = report["measured_on"]
    assert measured == split_record(built_by, "val")
    assert (measured["split"], measured["split_seed"]) == ("val", 0)
    assert measured["items_per_skill"] == dict.fromkeys(built_by.skills, 4)
    assert measured_on_same_split(report, built_by)
    assert not measured_on_same_split(report, other)
    assert not measured_on_same_split(report, built_by, "test")
    assert not measured_on_same_split(report, ArithTask(ArithConfig(val_per_skill=4, split_seed=1)))
    line = describe_measurement(report)
    assert "val split" in line and "4 items a skill" in line and "split_seed 0" in line


def test_a_report_without_its_split_is_never_comparable_and_says_so():
    task = ArithTask(ArithConfig(val_per_skill=2, test_per_skill=2))
    old = {"val_accuracy": dict.fromkeys(task.skills, 1.0), "pretrain_seconds": 1.0}
    assert not measured_on_same_split(old, task)
    assert "does not record" in describe_measurement(old)


def test_uneven_item_counts_are_listed_per_skill():
    report = {"val_accuracy": {"a": 0.5, "b": 1.0},
              "measured_on": {"split": "val", "items_per_skill": {"a": 3, "b": 2}, "split_seed": 7, "items_hash": "x"}}
    assert "a 3 items, b 2 items" in describe_measurement(report)
    assert "a 0.500, b 1.000" in describe_measurement(report)


@pytest.mark.parametrize("split", ["val", "test"])
def test_the_split_record_counts_every_skill_and_names_its_items(split):
    task = ArithTask(ArithConfig(val_per_skill=3, test_per_skill=2))
    record = split_record(task, split)
    assert record["items_per_skill"] == dict.fromkeys(task.skills, 3 if split == "val" else 2)
    assert record["items_hash"] != split_record(ArithTask(ArithConfig(val_per_skill=3, test_per_skill=2,
                                                                      split_seed=1)), split)["items_hash"]
