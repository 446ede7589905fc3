"""pass@k with n sampled completions per problem: the unbiased estimator over real executions, and
the student's sampling path."""

from __future__ import annotations

import pytest

from teachenv.core.config import StudentConfig
from teachenv.core.errors import ConfigError
from teachenv.student.grading import pass_at_k_by_skill
from teachenv.tasks.code.pyfunc import PyFuncConfig, PyFuncTask

TASK = PyFuncTask(PyFuncConfig(val_per_skill=2, test_per_skill=2))


def test_pass_at_k_per_skill_from_executed_samples():
    arith = [e for e in TASK.load("val") if e.skill == "arith"]
    wrong = "    return None\n"
    samples = [[arith[0].answer, wrong, wrong, arith[0].answer], [wrong] * 4]
    report = pass_at_k_by_skill(TASK, arith, samples, ks=(1, 2, 4))
    assert report[1]["arith"] == pytest.approx((0.5 + 0.0) / 2)
    assert report[2]["arith"] == pytest.approx((1 - 1 / 6 + 0.0) / 2)  # 1 - C(2,2)/C(4,2)
    assert report[4]["arith"] == pytest.approx(0.5)


def test_the_student_samples_n_completions_per_problem():
    from teachenv.student.lora_student import LoRAStudent

    config = StudentConfig.model_validate({
        "model": "plumbing",
        "tiny": {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32, "pretrain_steps": 0},
        "eval": {"max_new_tokens": 8}})
    student = LoRAStudent(config, TASK)
    student.reset(seed=0)
    report = student.pass_at_k("val", n=3, ks=(1, 3), temperature=1.0)
    assert set(report) == {1, 3} and set(report[1]) == set(TASK.skills)
    assert all(0.0 <= v <= report[3][s] <= 1.0 for s, v in report[1].items())
    with pytest.raises(ConfigError, match="1 <= k <= n"):
        student.pass_at_k("val", n=2, ks=(5,))
