"""LiveCodeBench read from local JSONL files in its shape (the Hub loader is a script `datasets` no
longer runs): stdin and functional problems graded in the sandbox, encoded private tests decoded
without running code, bad rows skipped."""

from __future__ import annotations

import base64
import json
import os
import pickle
import zlib

import pytest

from teachenv.core.records import TrainingExample
from teachenv.tasks.code.livecodebench import LiveCodeBenchConfig, LiveCodeBenchTask, decode_cases, extract_code


def encoded(cases: list[dict]) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(cases)))).decode()


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def stdin_problem(qid: str, difficulty: str = "easy") -> dict:
    return {"question_id": qid, "question_content": "Read two integers and print their sum.", "platform": "atcoder",
            "difficulty": difficulty, "starter_code": "", "metadata": "{}",
            "public_test_cases": json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]),
            "private_test_cases": encoded([{"input": "10 -4\n", "output": "6\n", "testtype": "stdin"}])}


def functional_problem(qid: str) -> dict:
    return {"question_id": qid, "question_content": "Return a + b.", "platform": "leetcode", "difficulty": "medium",
            "starter_code": "class Solution:\n    def add(self, a: int, b: int) -> int:\n        ",
            "metadata": json.dumps({"func_name": "add"}),
            "public_test_cases": json.dumps([{"input": "1\n2", "output": "3", "testtype": "functional"}]),
            "private_test_cases": json.dumps([{"input": "-5\n5", "output": "0", "testtype": "functional"}])}


@pytest.fixture
def task(tmp_path):
    val = [stdin_problem("a1"), functional_problem("l1"),
           {**stdin_problem("bad"), "public_test_cases": "[]", "private_test_cases": ""}]
    evil = base64.b64encode(zlib.compress(pickle.dumps(Evil(tmp_path / "pwned")))).decode()
    test = [stdin_problem("a2", "hard"), {**stdin_problem("evil"), "private_test_cases": evil}]
    for name, rows in (("v1.jsonl", val), ("v2.jsonl", test)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return LiveCodeBenchTask(LiveCodeBenchConfig(val_files=(str(tmp_path / "v1.jsonl"),),
                                                 test_files=(str(tmp_path / "v2.jsonl"),)))


def test_rows_splits_and_skills(task, tmp_path):
    assert [e.id for e in task.load("val")] == ["lcb/a1", "lcb/l1"] and [e.id for e in task.load("test")] == ["lcb/a2"]
    assert task.skills == ("easy", "hard", "medium")
    reasons = dict(task.skipped)
    assert reasons["val[2]"] == "no test cases" and "refusing to load" in reasons["test[1]"]
    assert not (tmp_path / "pwned").exists()  # the hostile pickle never ran
    assert len(task.load("val")[0].tests) == 2  # public + decoded private


def test_stdin_and_functional_programs_are_graded_by_execution(task):
    stdin, functional = task.load("val")
    right = "a, b = map(int, input().split())\nprint(a + b)\n"
    wrong = "a, b = map(int, input().split())\nprint(a - b)\n"
    fenced = f"Here is my solution:\n```python\n{right}```\n"
    leet = "class Solution:\n    def add(self, a, b):\n        return a + b\n"
    assert task.credit_many([stdin, stdin, stdin, functional, functional],
                            [right, wrong, fenced, leet, leet.replace("a + b", "a * b")]) == [1, 0, 1, 1, 0]
    assert task.verify(TrainingExample(example=stdin, completion=right)).accepted
    assert task.verify(TrainingExample(example=stdin, completion=wrong)).reason == "tests-fail"


def test_decoding_and_code_extraction():
    cases = [{"input": "1", "output": "1", "testtype": "stdin"}]
    assert decode_cases(json.dumps(cases)) == cases == decode_cases(encoded(cases))
    assert extract_code("```python\nprint(1)\n```") == "print(1)\n"
    assert extract_code("print(2)") == "print(2)"
