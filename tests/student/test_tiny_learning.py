"""The real tiny student learns what it is taught: one LoRA round lifts its weakest skill.

One round of 800 examples measurably moves `sub` (0.04 → 0.27 on the default base, seed 0); the
issue's full bar (≥ 0.3 over the 3-round quick start, mean accuracy up) is checked by
tests/cli/test_quickstart_learning.py."""

from __future__ import annotations

import numpy as np
import pytest

from teachenv.core.config import StudentConfig
from teachenv.student.build_report import measured_on_same_split, read_report
from teachenv.student.lora_student import LoRAStudent
from teachenv.tasks.arith.task import ArithTask

pytestmark = pytest.mark.slow


def test_pretrained_student_is_weak_at_sub_and_one_lora_round_lifts_it(tiny_student_dir):
    report = read_report(tiny_student_dir)
    task = ArithTask()
    student = LoRAStudent(StudentConfig(model="tiny"), task)
    before, _ = student.evaluate("val")
    assert before.accuracy_by_skill["sub"] < 0.3
    if measured_on_same_split(report, task):  # the report is of the split of whichever config built the student
        assert before.accuracy_by_skill == pytest.approx(report["val_accuracy"])  # the cache is the build

    rng = np.random.default_rng(0)
    others = [s for s in task.skills if s != "sub"]
    replay_skills = rng.choice(others, size=400)
    examples = task.generate("sub", 400, rng)
    for skill in others:
        examples += task.generate(skill, int((replay_skills == skill).sum()), rng)
    metrics = student.train(examples, seed=0)
    assert metrics.examples == 800 and metrics.steps == 600

    after, _ = student.evaluate("val")
    gain = after.accuracy_by_skill["sub"] - before.accuracy_by_skill["sub"]
    assert gain >= 0.15, (before.accuracy_by_skill, after.accuracy_by_skill)
