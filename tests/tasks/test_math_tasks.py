"""The GSM8K and MATH tasks on small local fixtures written here (no download): loading and bad rows,
splits, stratification, skills, prompts, grading, verification, and a smoke episode from `teachenv run`."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest
import yaml

from teachenv.core.config import validate_config
from teachenv.core.errors import ConfigError
from teachenv.core.records import TaskExample, TrainingExample
from teachenv.tasks.math.gsm8k import GSM8KConfig, GSM8KTask
from teachenv.tasks.math.hendrycks import MATHConfig, MATHTask


def gsm_row(i: int, answer: int | str | None = None) -> dict:
    a, b = 3 + i, 7 + 2 * i
    final = a * b if answer is None else answer
    return {"question": f"Tom has {a} boxes with {b} pens each. How many pens does Tom have? (case {i})",
            "answer": f"Each box has {b} pens and there are {a} boxes.\n{a} * {b} = <<{a}*{b}={a * b}>>{a * b}\n"
                      f"#### {final}"}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def gsm_dir(tmp_path):
    train = [gsm_row(i) for i in range(40)]
    train.append({"question": "A question without a solution", "answer": ""})
    train.append({"question": "How many apples?", "answer": "Some apples.\n#### ten"})
    train.append({"question": "How many pears?", "answer": "No final marker here, just 12"})
    test = [gsm_row(i) for i in range(100, 110)] + [gsm_row(3)]  # case 3 is also a train question
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "test.jsonl", test)
    return tmp_path


def gsm(gsm_dir, **options) -> GSM8KTask:
    return GSM8KTask(GSM8KConfig(source=str(gsm_dir), val_size=8, **options))


def test_bad_rows_are_skipped_and_reported_with_their_ids(gsm_dir, caplog):
    task = gsm(gsm_dir)
    with caplog.at_level(logging.WARNING, logger="teachenv"):
        task.load("val")
    reasons = dict(task.skipped)
    assert len(task.skipped) == 3
    assert any("no solution" == r for r in reasons.values())
    assert any("'ten' is not a number" in r for r in reasons.values())
    assert any("no '#### <number>'" in r for r in reasons.values())
    assert all(":train[" in row_id for row_id in reasons)  # the row's place, to find it in the file
    assert "skipped 3 bad row(s)" in caplog.text


def test_validation_comes_from_train_disjoint_from_test(gsm_dir):
    task = gsm(gsm_dir)
    val, test = task.load("val"), task.load("test")
    assert len(val) == 8 and len(test) == 11
    pool = {t.example.prompt for t in task.generate("all", 100, np.random.default_rng(0))}
    val_q, test_q = {e.prompt for e in val}, {e.prompt for e in test}
    assert not val_q & test_q and not pool & test_q and not pool & val_q
    assert len(pool) == 40 - 1 - 8  # the train question that is also a test question never trains
    assert task.skills == ("all",) and all(e.answer.isdigit() for e in val)


def test_the_splits_and_prompts_are_fixed_by_the_seed(gsm_dir):
    a, b = gsm(gsm_dir, few_shot=2), gsm(gsm_dir, few_shot=2)
    assert a.load("val") == b.load("val")
    assert [a.prompt(e) for e in a.load("test")] == [b.prompt(e) for e in b.load("test")]
    prompt = a.prompt(a.load("test")[0])
    assert prompt.count("Question:") == 3 and prompt.endswith("Answer:") and "####" in prompt
    assert gsm(gsm_dir, seed=1).load("val") != a.load("val")


def test_grading_extracts_the_final_answer_and_tolerates_formatting(gsm_dir):
    task = gsm(gsm_dir)
    example = task.load("val")[0]
    n = int(example.answer)
    completions = [f"First 2 + 3 = 5, then the total is {n:,}.00 dollars.", f"#### ${n}", f"\\boxed{{{n + 1}}}",
                   f"So {n} ... wait, the answer is {n - 1}.", ""]
    assert task.credit_many([example] * 5, completions) == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert task.score(example, f"The answer is {n}.")


def test_verification_checks_answers_against_the_dataset(gsm_dir):
    task = gsm(gsm_dir)
    row = task.generate("all", 1, np.random.default_rng(0))[0]
    assert task.verify(row).accepted
    wrong = row.model_copy(update={"completion": row.completion.rsplit("####", 1)[0] + "#### 1"})
    verdict = task.verify(wrong)
    assert verdict.reason == "wrong-answer" and "the dataset's answer" in verdict.detail
    new = TaskExample(id="llm/x", skill="all", prompt="Ann has 2 cats and gets 3 more. How many?", answer="5")
    assert task.verify(TrainingExample(example=new, completion="2 + 3 = 5. The answer is 5.")).accepted
    assert task.verify(TrainingExample(example=new, completion="The answer is 6.")).reason == "wrong-answer"
    assert task.verify(TrainingExample(example=new, completion="I am not sure.")).reason == "unparseable"


def test_gsm8k_skills_from_a_shipped_mapping_file(gsm_dir, tmp_path):
    task = gsm(gsm_dir)
    ids = [e.id for e in task.load("val") + task.load("test")] + \
          [t.example.id for t in task.generate("all", 100, np.random.default_rng(0))]
    mapping = {"source": "file", "categories": ["big", "small"],
               "assignments": {i: ("big" if k % 2 else "small") for k, i in enumerate(ids)}}
    path = tmp_path / "gsm8k-skills.json"
    path.write_text(json.dumps(mapping))
    mapped = gsm(gsm_dir, skills={"source": "file", "mapping_file": str(path)})
    assert mapped.skills == ("big", "small")
    assert {e.skill for e in mapped.load("val") + mapped.load("test")} <= {"big", "small"}
    assert {t.example.skill for t in mapped.generate("big", 100, np.random.default_rng(0))} == {"big"}
    del mapping["assignments"][ids[0]]
    path.write_text(json.dumps(mapping))
    with pytest.raises(ConfigError, match=ids[0]):
        gsm(gsm_dir, skills={"source": "file", "mapping_file": str(path)}).load("val")


def test_gsm8k_skills_from_an_llm_are_paid_once(gsm_dir, tmp_path, monkeypatch):
    from teachenv.scripted.brain import ScriptedTeacher
    from teachenv.scripted.server import ScriptedTeacherServer
    from teachenv.tasks.arith.task import ArithTask

    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path / "home"))
    server = ScriptedTeacherServer(ScriptedTeacher(ArithTask(), malformed_rate=0, wrong_rate=0)).start()
    try:
        options = {"skills": {"source": "llm", "categories": 2},
                   "skills_teacher": {"name": "openai", "model": "scripted-teacher", "base_url": server.url}}
        first = gsm(gsm_dir, **options)
        assert 1 <= len(first.skills) <= 2 and first.load("val")
        calls = server.calls
        assert calls > 0
        again = gsm(gsm_dir, **options)
        assert again.skills == first.skills and again.load("test") == first.load("test")
        assert server.calls == calls  # answered from the cache on disk
    finally:
        server.stop()


# -- MATH -----------------------------------------------------------------------------------------

def math_row(i: int, subject: str, level: int) -> dict:
    return {"problem": f"Compute ${i}+\\frac{{1}}{{2}}$ ({subject} {level}).", "type": subject,
            "level": f"Level {level}", "solution": f"We add: ${i}+\\frac12 = \\boxed{{\\frac{{{2 * i + 1}}}{{2}}}}$."}


@pytest.fixture
def math_dir(tmp_path):
    rows = [math_row(i, "Algebra", 1 + i % 5) for i in range(30)] + [math_row(100 + i, "Geometry", 2) for i in range(10)]
    rows.append({"problem": "No answer anywhere", "type": "Algebra", "level": "Level 1", "solution": "It is big."})
    write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "test.jsonl", [math_row(200 + i, "Algebra", 3) for i in range(6)])
    m500 = [{"problem": f"What is {i} squared?", "solution": f"$\\boxed{{{i * i}}}$", "answer": str(i * i),
             "subject": "Number Theory", "level": 4, "unique_id": f"test/{i}.json"} for i in range(5)]
    (tmp_path / "m500").mkdir()
    write_jsonl(tmp_path / "m500" / "test.jsonl", m500)
    return tmp_path


def test_math_validation_is_stratified_by_subject(math_dir):
    task = MATHTask(MATHConfig(source=str(math_dir), subsets=None, val_size=8))
    assert task.skills == ("Algebra", "Geometry")
    val = task.load("val")
    assert sum(e.skill == "Algebra" for e in val) == 6 and sum(e.skill == "Geometry" for e in val) == 2
    assert [r for _, r in task.skipped] == ["the solution has no \\boxed{} final answer and the row no answer column"]
    assert val[0].answer.startswith("\\frac{")


def test_math_skills_by_level_and_a_math500_test_source(math_dir):
    task = MATHTask(MATHConfig(source=str(math_dir), subsets=None, val_size=5, skill_by="subject-level",
                               test_source=str(math_dir / "m500")))
    assert "Algebra/level-3" in task.skills and "Number Theory/level-4" in task.skills
    test = task.load("test")
    assert [e.answer for e in test] == ["0", "1", "4", "9", "16"]
    assert task.credit_many(test[:2], ["$\\boxed{0}$", "the answer is $1$"]) == [1.0, 1.0]
    example = task.load("val")[0]
    assert task.score(example, f"so it is \\boxed{{{example.answer}}}")
    assert task.answers_equivalent("\\frac{3}{2}", "1.5")


@pytest.mark.parametrize("config_file", ["configs/math-gsm8k-qwen.yaml", "configs/math-MATH-gemma.yaml"])
def test_the_gpu_recipes_validate_on_cpu(config_file):
    from pathlib import Path

    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / config_file).read_text())
    config = validate_config(raw)
    # The task's own options were checked and kept (a typo there would be an error), defaults filled in.
    assert config.task.name == raw["task"]["name"] and config.task.options["source"] == raw["task"]["source"]
    assert "val_size" in config.task.options
    assert config.student.model == raw["student"]["model"] and config.student.device == "cuda"
    assert config.student.eval.backend == "vllm" and config.agent.teacher.name == "vllm"


@pytest.mark.parametrize("prompt_style", ["plain", "chat"])
def test_a_smoke_episode_runs_from_teachenv_run(gsm_dir, tmp_path, prompt_style):
    """Loader, prompts (plain, and chat through the tiny student's template), grading, skills and the
    environment — not the accuracy — with the untrained plumbing student."""
    config = {
        "name": "gsm-smoke", "runs_dir": str(tmp_path / "runs"),
        "task": {"name": "gsm8k", "source": str(gsm_dir), "val_size": 6, "test_size": 6, "prompt_style": prompt_style},
        "student": {"model": "plumbing", "tiny": {"hidden_size": 16, "num_layers": 1, "num_heads": 2,
                                                  "intermediate_size": 32, "pretrain_steps": 0, "max_positions": 512},
                    "train": {"max_steps": 2, "batch_size": 4}, "eval": {"max_new_tokens": 6}},
        "env": {"id": "teachenv/SkillList-v0", "max_rounds": 2, "examples_per_round": 6},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([sys.executable, "-m", "teachenv.cli.main", "run", str(path)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "runs" / "gsm-smoke" / "episode.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert all(r["examples_accepted"] == 6 for r in rows[1:])
    assert set(rows[0]["val_accuracy_by_skill"]) == {"all"}
    predictions = (tmp_path / "runs" / "gsm-smoke" / "rounds" / "0" / "predictions.jsonl").read_text().splitlines()
    assert json.loads(predictions[0])["prompt"].startswith("Question: ")
