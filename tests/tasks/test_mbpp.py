"""MBPP on a small local fixture in the sanitized set's shape: loading, prompts, grading by execution,
verification, and one environment round with the plumbing student."""

from __future__ import annotations

import json

import gymnasium
import numpy as np
import pytest

import teachenv  # noqa: F401  (registers the ids)
from teachenv.core.config import apply_overrides
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.teaching_env import INFO_ROUND
from teachenv.tasks.code.mbpp import MBPPConfig, MBPPTask, program_of


def row(i: int) -> dict:
    return {"task_id": i, "prompt": f"Write a function that adds {i} to a number.",
            "code": f"def add_{i}(x):\n    return x + {i}", "test_imports": [],
            "test_list": [f"assert add_{i}(1) == {1 + i}", f"assert add_{i}(-{i}) == 0"]}


@pytest.fixture
def mbpp_dir(tmp_path):
    for split, ids in (("train", range(1, 9)), ("validation", range(20, 24)), ("test", range(30, 36))):
        rows = [row(i) for i in ids]
        if split == "train":
            rows.append({"task_id": 99, "prompt": "Broken row", "code": "", "test_imports": [], "test_list": []})
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_splits_prompts_and_bad_rows(mbpp_dir):
    task = MBPPTask(MBPPConfig(source=str(mbpp_dir), subset=None))
    assert len(task.load("val")) == 4 and len(task.load("test")) == 6
    assert task.skipped == [("train[8]", "no description, code or tests")]
    prompt = task.load("test")[0].prompt
    assert "adds 30" in prompt and "assert add_30(1) == 31" in prompt


def test_reference_code_passes_and_wrong_code_fails_by_execution(mbpp_dir):
    task = MBPPTask(MBPPConfig(source=str(mbpp_dir), subset=None))
    test = task.load("test")
    completions = [e.answer for e in test]
    completions[1] = "def add_31(x):\n    return x + 30\n"
    completions[2] = test[2].answer + "\nassert False\nprint('demo')\n"  # top-level code after the function is cut
    assert task.credit_many(test, completions) == [1.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    assert program_of("def f():\n    return 1\nprint(f())\n") == "def f():\n    return 1"


def test_training_rows_are_handed_out_and_verified(mbpp_dir):
    task = MBPPTask(MBPPConfig(source=str(mbpp_dir), subset=None))
    rows = task.generate("all", 3, np.random.default_rng(0))
    assert len(rows) == 3 and all(task.verify(r).accepted for r in rows)
    broken = rows[0].model_copy(update={"completion": "def nothing():\n    pass\n"})
    assert task.verify(broken).reason == "tests-fail"


def test_an_environment_round_grades_the_students_code_in_the_sandbox(mbpp_dir):
    config = apply_overrides(PLUMBING_DEFAULTS, ["task={name: mbpp, source: '%s', subset: null}" % mbpp_dir,
                                              "student.eval.max_new_tokens=8", "env.max_per_skill=4"])
    env = gymnasium.make("teachenv/SkillList-v0", config=config).unwrapped
    _, info = env.reset(seed=0)
    assert info[INFO_ROUND].val.accuracy == 0.0  # an untrained model writes no passing program
    _, _, _, _, info = env.step(np.array([4]))
    assert info[INFO_ROUND].examples_accepted == 4
    env.close()


def test_tests_that_pass_on_empty_bodies_do_not_count(mbpp_dir):
    from teachenv.core.records import TaskExample, TrainingExample
    from teachenv.tasks.code.execution import empty_bodies

    assert empty_bodies('def f(x):\n    """Doc."""\n    return x + 1\n') == 'def f(x):\n    """Doc."""\n    pass\n'
    assert empty_bodies("def broken(:\n") is None
    task = MBPPTask(MBPPConfig(source=str(mbpp_dir), subset=None))
    example = TaskExample(id="llm/f", skill="all", prompt="Return None.", answer="", tests=("assert f() is None",))
    trivial = TrainingExample(example=example, completion="def f():\n    return None\n", origin="llm")
    assert task.verify(trivial).reason == "trivial-tests"


def test_the_llm_engine_brings_tests_and_the_sandbox_checks_them(mbpp_dir):
    """The LLM engine against the scripted teacher (which plays MBPP from its training rows): examples come
    with their tests, right ones are accepted, a wrong one (wrong_rate) fails its tests in the sandbox."""
    from teachenv.envs.teaching_env import INFO_ROUND

    config = apply_overrides(PLUMBING_DEFAULTS, [
        "task={name: mbpp, source: '%s', subset: null}" % mbpp_dir, "student.eval.max_new_tokens=8",
        "env.max_per_skill=6", "env.examples_per_round=6", "agent.engine.name=llm", "agent.teacher.name=scripted",
        "agent.teacher.malformed_rate=0", "agent.teacher.wrong_rate=0.3", "agent.cache.enabled=false",
        "agent.engine.few_shot=0"])
    env = gymnasium.make("teachenv/SkillList-v0", config=config).unwrapped
    try:
        env.reset(seed=0)
        _, _, _, _, info = env.step(np.array([6]))
        result = info[INFO_ROUND]
        assert result.examples_accepted >= 1
        # Some of the 6 answers are made wrong (wrong_rate 0.3, seeded), and each of them fails its own tests.
        failed = result.rejected_by_reason.get("tests-fail", 0)
        assert set(result.rejected_by_reason) == {"tests-fail"} and failed >= 1
        assert result.examples_accepted == 6 - failed
    finally:
        env.close()


def test_skills_from_a_shipped_mapping_file(mbpp_dir, tmp_path):
    plain = MBPPTask(MBPPConfig(source=str(mbpp_dir), subset=None))
    ids = [e.id for split in ("train", "val", "test") for e in plain._splits[split]]
    mapping = {"source": "file", "categories": ["even", "odd"],
               "assignments": {i: ("even" if int(i.split("/")[1]) % 2 == 0 else "odd") for i in ids}}
    path = tmp_path / "mbpp-skills.json"
    path.write_text(json.dumps(mapping))
    task = MBPPTask(MBPPConfig(source=str(mbpp_dir), subset=None,
                               skills={"source": "file", "mapping_file": str(path)}))
    assert plain.skills == ("all",) and task.skills == ("even", "odd")
    assert {e.skill for e in task.load("test")} == {"even", "odd"}
    odd = task.generate("odd", 10, np.random.default_rng(0))
    assert odd and all(int(t.example.id.split("/")[1]) % 2 == 1 for t in odd)
    assert all(v.accepted for v in task.verify_many(odd))
