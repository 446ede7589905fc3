"""The offline code world: real code synthesis graded by execution (any equivalent body passes),
held out by hash, verified teacher data, and a plumbing episode."""

from __future__ import annotations

from collections import Counter

import gymnasium
import numpy as np
import pytest

import teachenv  # noqa: F401  (registers the ids)
from teachenv.core.config import apply_overrides
from teachenv.core.records import TrainingExample
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.teaching_env import INFO_ROUND
from teachenv.tasks.code.pyfunc import PyFuncConfig, PyFuncTask


@pytest.fixture(scope="module")
def task():
    return PyFuncTask(PyFuncConfig(val_per_skill=20, test_per_skill=40))


def test_splits_are_held_out_by_specification(task):
    val, test = task.load("val"), task.load("test")
    assert Counter(e.skill for e in test) == {"arith": 40, "cond": 40, "string": 40, "list": 40}
    held_out = {e.prompt for e in val + test}
    assert len(held_out) == len(val) + len(test)
    made = task.generate("string", 300, np.random.default_rng(0)) + task.generate("list", 300, np.random.default_rng(1))
    assert not {t.example.prompt for t in made} & held_out
    assert PyFuncTask(PyFuncConfig(val_per_skill=20, test_per_skill=40)).load("test") == test


def test_grading_executes_the_body_so_any_equivalent_program_passes(task):
    arith = next(e for e in task.load("test") if e.skill == "arith" and "then" in e.prompt)
    reference = arith.answer.strip().removeprefix("return ").strip()
    equivalent = f"    y = {reference}\n    return y\n"
    wrong = f"    return {reference} + 1\n"
    assert task.credit_many([arith] * 4, [arith.answer, equivalent, wrong, "    while True: pass\n"]) == [1, 1, 0, 0]
    strings = [e for e in task.load("test") if e.skill == "string"]
    assert sum(task.credit_many(strings, [e.answer for e in strings])) == len(strings)
    assert sum(task.credit_many(strings, ["    return s\n"] * len(strings))) < len(strings) // 4


def test_teacher_examples_need_passing_non_trivial_tests(task):
    good = task.generate("cond", 1, np.random.default_rng(3))[0]
    wrong = good.model_copy(update={"completion": "    return -1\n"})
    no_tests = TrainingExample(example=good.example.model_copy(update={"tests": ()}), completion=good.completion)
    trivial = TrainingExample(example=good.example.model_copy(update={"tests": ("assert True",)}),
                              completion=good.completion)
    verdicts = task.verify_many([good, wrong, no_tests, trivial])
    assert [v.reason for v in verdicts] == [None, "tests-fail", "unparseable", "trivial-tests"]


def test_a_plumbing_episode_grades_in_the_sandbox():
    config = apply_overrides(PLUMBING_DEFAULTS, ["task={name: pyfunc, val_per_skill: 4, test_per_skill: 4}",
                                              "student.tiny.skill_weights={}", "env.max_per_skill=6"])
    env = gymnasium.make("teachenv/SkillList-v0", config=config).unwrapped
    _, info = env.reset(seed=0)
    assert info[INFO_ROUND].val.accuracy == 0.0
    _, _, _, _, info = env.step(np.array([6, 0, 0, 6]))
    assert info[INFO_ROUND].accepted_by_skill == {"arith": 6, "list": 6}
    env.close()
