"""The scripted teacher: its replies follow the protocol (allocation, examples, answers), its
imperfections are deterministic, the server speaks the protocol, and the ``scripted`` backend runs
the whole LLM path offline."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import pytest

from teachenv.core.errors import ConfigError
from teachenv.engines.base import GenerationRequest
from teachenv.scripted.backend import ScriptedBackend
from teachenv.scripted.brain import ScriptedTeacher
from teachenv.scripted.server import ScriptedTeacherServer
from teachenv.tasks.arith.task import ArithTask

TASK = ArithTask()

ALLOCATION_PROMPT = """Round 2 of 3; up to 101 examples per round.
skill | val accuracy | examples trained
add | 0.900 | 300
add-carry | 0.420 | 300
sub | 0.610 | 0
mul | 0.350 | 100
max | 0.990 | 0
Reply with the allocation."""


def _body(prompt: str, kind: str | None = None, seed: int | None = None) -> dict:
    body: dict = {"model": "scripted-teacher", "messages": [{"role": "user", "content": prompt}]}
    if kind is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": kind, "schema": {}}}
    if seed is not None:
        body["seed"] = seed
    return body


def _examples_prompt(skill: str, n: int, avoid: list[str] = ()) -> str:
    lines = [f"Write training data for: {TASK.describe_skill(skill)}", f"Skill: {skill}", f"Number of examples: {n}"]
    if avoid:
        lines += ["Already generated (do not repeat):", *[f"- {q}" for q in avoid]]
    return "\n".join(lines)


def _perfect() -> ScriptedTeacher:
    return ScriptedTeacher(TASK, malformed_rate=0.0, wrong_rate=0.0)


def test_allocation_gives_half_the_round_to_the_two_weakest_skills_and_replays_the_rest():
    reply = json.loads(_perfect().reply(_body(ALLOCATION_PROMPT, "skill_allocation")))
    assert reply["allocation"] == {"add": 17, "add-carry": 25, "sub": 17, "mul": 26, "max": 16}
    assert reply["rationale"]


def test_examples_are_correct_distinct_and_of_the_asked_skill():
    reply = json.loads(_perfect().reply(_body(_examples_prompt("add-carry", 12), "training_examples", seed=3)))
    examples = reply["examples"]
    assert len(examples) == 12
    assert len({e["question"] for e in examples}) == 12
    for e in examples:
        assert TASK.verify(TASK.candidate("add-carry", e["question"], e["answer"], "t")).accepted, e


def test_examples_avoid_the_questions_already_generated():
    avoid = [t.example.prompt for t in TASK.generate("mul", 60, np.random.default_rng(0))]
    reply = json.loads(_perfect().reply(_body(_examples_prompt("mul", 30, avoid), "training_examples")))
    questions = {e["question"] for e in reply["examples"]}
    assert len(questions) == 30
    assert not questions & set(avoid)


def test_examples_for_an_unknown_skill_are_an_empty_list():
    reply = json.loads(_perfect().reply(_body(_examples_prompt("division", 5), "training_examples")))
    assert reply == {"examples": []}


def test_wrong_rate_makes_some_answers_wrong():
    teacher = ScriptedTeacher(TASK, malformed_rate=0.0, wrong_rate=0.5)
    examples = json.loads(teacher.reply(_body(_examples_prompt("sub", 100), "training_examples")))["examples"]
    wrong = sum(not TASK.verify(TASK.candidate("sub", e["question"], e["answer"], "t")).accepted for e in examples)
    assert 20 < wrong < 80


def test_answer_uses_the_worlds_own_solver():
    reply = json.loads(_perfect().reply(_body("Example: 1+1=\nQuestion: 47*6=", "answer")))
    assert reply == {"answer": "282"}


def test_kind_is_guessed_when_the_schema_is_only_in_the_prompt():
    teacher = _perfect()
    assert teacher.kind_of(_body(ALLOCATION_PROMPT)) == "skill_allocation"
    assert teacher.kind_of(_body(_examples_prompt("add", 3))) == "training_examples"
    assert teacher.kind_of(_body("Question: 12+34=")) == "answer"
    assert teacher.kind_of(_body("hello there")) == "text"
    assert len(json.loads(teacher.reply(_body(_examples_prompt("add", 3))))["examples"]) == 3


def test_malformed_rate_one_gives_unparseable_replies_and_counts_them():
    teacher = ScriptedTeacher(TASK, malformed_rate=1.0, wrong_rate=0.0)
    for body in (_body(ALLOCATION_PROMPT, "skill_allocation"), _body("Question: 12+34=", "answer")):
        with pytest.raises(json.JSONDecodeError):
            json.loads(teacher.reply(body))
    assert teacher.malformed == 2


def test_the_same_request_gets_the_same_reply_and_another_seed_another():
    teacher = ScriptedTeacher(TASK, malformed_rate=0.3, wrong_rate=0.1)
    body = _body(_examples_prompt("add", 20), "training_examples", seed=5)
    assert teacher.reply(body) == teacher.reply(dict(body))
    assert teacher.reply(body) != teacher.reply({**body, "seed": 6})


def test_server_lists_its_model_and_answers_unknown_paths_with_404():
    with ScriptedTeacherServer(_perfect()) as server:
        with urllib.request.urlopen(f"{server.url}/models", timeout=5) as response:
            models = json.loads(response.read())
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(f"{server.url}/nowhere", timeout=5)
    assert models["data"][0]["id"] == "scripted-teacher"
    assert raised.value.code == 404
    assert "error" in json.loads(raised.value.read())


def test_scripted_backend_runs_the_llm_path_offline():
    # Built from its options alone, as agent.teacher: the world it plays is a task spec.
    backend = ScriptedBackend.from_config(ScriptedBackend.Config(malformed_rate=0.0, wrong_rate=0.0,
                                                                 task={"name": "arith"}))
    try:
        results = backend.generate([
            GenerationRequest(prompt=_examples_prompt("max", 4), json_schema={"type": "object"},
                              schema_name="training_examples", seed=1),
            GenerationRequest(prompt="Question: 58+31=", json_schema={"type": "object"}, schema_name="answer"),
        ])
        url = backend.server.url
    finally:
        backend.close()
    assert len(json.loads(results[0].text)["examples"]) == 4
    assert json.loads(results[1].text) == {"answer": "89"}
    assert all(r.prompt_tokens > 0 and r.completion_tokens > 0 for r in results)
    identity = backend.identity()  # no port in it: a re-run on another port hits the response cache
    assert identity["model"] == "scripted-teacher" and url.split(":")[-1].split("/")[0] not in str(identity)
    assert backend.server.calls_by_kind == {"training_examples": 1, "answer": 1}
    with pytest.raises(urllib.error.URLError):  # closed: the server is gone
        urllib.request.urlopen(f"{url}/models", timeout=2)


def test_scripted_backend_needs_a_generated_task():
    with pytest.raises(ConfigError, match="generated task"):
        ScriptedBackend.from_config(ScriptedBackend.Config(task={"name": "humaneval"}))


def test_scripted_backend_rejects_a_base_url():
    with pytest.raises(ConfigError, match="base_url"):
        ScriptedBackend(ScriptedBackend.Config(base_url="http://localhost:1/v1"), TASK)


def test_without_a_world_the_scripted_teacher_answers_what_needs_none_and_says_what_it_lacks():
    brain = ScriptedTeacher(None, malformed_rate=0.0)
    body = {"messages": [{"role": "user", "content": "Question: 58+31="}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {}}}}
    assert "agent.teacher.task" in brain.reply(body)
    body["response_format"]["json_schema"]["name"] = "skill_allocation"
    body["messages"][0]["content"] = "Round 1 of 3; up to 10 examples per round.\n| add | 0.2 | 0 |\n| sub | 0.9 | 0 |"
    assert sum(json.loads(brain.reply(body))["allocation"].values()) == 10
