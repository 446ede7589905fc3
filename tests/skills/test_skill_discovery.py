"""Skill discovery: the llm source labels, clusters and caches through a real (scripted) HTTP teacher;
the file source reads a shipped mapping with clear errors; the metadata source keeps the task's labels."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import TaskExample
from teachenv.engines.base import GenerationResult, TextBackend
from teachenv.engines.openai_backend import OpenAIBackend, OpenAIBackendConfig
from teachenv.scripted.brain import ScriptedTeacher
from teachenv.scripted.discovery_replies import generic_label, skill_categories, skill_labels
from teachenv.scripted.server import ScriptedTeacherServer
from teachenv.skills import (OTHER, SkillDiscoveryConfig, SkillMapping, apply_mapping, discover_skills,
                             load_mapping, save_mapping)
from teachenv.skills.llm_discovery import UNLABELLED, cache_path
from teachenv.tasks.arith.task import ArithConfig, ArithTask

TASK = ArithTask(ArithConfig(val_per_skill=6, test_per_skill=2))


def _arith(prompt: str) -> TaskExample:
    a, b = prompt.rstrip("=").split("+")
    return TaskExample(id=f"extra/{a}/{b}", skill="add", prompt=prompt, answer=str(int(a) + int(b)))


QUESTIONS = [*TASK.load("val"), _arith("12+34="), _arith("56+21=")]
LLM = SkillDiscoveryConfig(source="llm", categories=3, batch_size=8)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path / "home"))


def _serve(malformed_rate: float = 0.0) -> tuple[ScriptedTeacherServer, OpenAIBackend]:
    server = ScriptedTeacherServer(ScriptedTeacher(TASK, malformed_rate=malformed_rate, wrong_rate=0.0)).start()
    config = OpenAIBackendConfig(model="scripted-teacher", max_retries=0, timeout_seconds=10)
    return server, OpenAIBackend(config, base_url=server.url, api_key="test")


@pytest.fixture
def teacher() -> Iterator[tuple[ScriptedTeacherServer, OpenAIBackend]]:
    server, backend = _serve()
    yield server, backend
    backend.close()
    server.stop()


# -- llm --------------------------------------------------------------------------------------------

def test_llm_gives_every_question_one_of_at_most_n_categories(teacher):
    server, backend = teacher
    ledger = CostLedger()
    mapping = discover_skills(QUESTIONS, LLM, backend=backend, ledger=ledger)
    assert mapping.source == "llm"
    assert set(mapping.assignments) == {e.id for e in QUESTIONS}
    assert 1 < len(mapping.categories) <= 3
    assert OTHER not in mapping.categories
    assert list(mapping.categories) == sorted(mapping.categories)
    assert mapping.skill_of("extra/12/34") == mapping.skill_of("extra/56/21")
    assert mapping.labels["extra/12/34"] == "N+N="
    # subtraction and multiplication are not lumped in with addition
    sub = next(e.id for e in QUESTIONS if e.skill == "sub")
    mul = next(e.id for e in QUESTIONS if e.skill == "mul")
    assert mapping.skill_of(mul) != mapping.skill_of("extra/12/34") != mapping.skill_of(sub)
    assert sum(mapping.counts().values()) == len(QUESTIONS)
    # ceil(32 / 8) labelling requests, then one clustering request
    assert server.calls_by_kind == {"skill_labels": 4, "skill_categories": 1}
    assert cache_path(mapping.key).exists()
    assert ledger.snapshot().tokens["skill-discovery"].calls == 5


def test_llm_second_call_reads_the_cache_and_makes_no_call(teacher):
    server, backend = teacher
    first = discover_skills(QUESTIONS, LLM, backend=backend)
    calls = server.calls
    again = discover_skills(QUESTIONS, LLM, backend=backend)
    assert server.calls == calls
    assert again == first


def test_llm_other_settings_or_questions_miss_the_cache(teacher):
    server, backend = teacher
    first = discover_skills(QUESTIONS, LLM, backend=backend)
    calls = server.calls
    fewer = discover_skills(QUESTIONS, LLM.model_copy(update={"categories": 2}), backend=backend)
    assert server.calls > calls
    assert len(fewer.categories) <= 2 and fewer.key != first.key
    calls = server.calls
    other_questions = discover_skills(QUESTIONS[:-1], LLM, backend=backend)
    assert server.calls > calls
    assert "extra/56/21" not in other_questions.assignments


def test_llm_damaged_cache_file_is_recomputed(teacher):
    server, backend = teacher
    first = discover_skills(QUESTIONS, LLM, backend=backend)
    cache_path(first.key).write_text("{ not json")
    calls = server.calls
    assert discover_skills(QUESTIONS, LLM, backend=backend) == first
    assert server.calls > calls
    assert load_mapping(cache_path(first.key)) == first


def test_llm_result_with_a_failed_call_is_not_cached(teacher):
    server, backend = teacher
    server.fail_next(1, status=500)  # the first labelling call fails (the backend does not retry here)
    degraded = discover_skills(QUESTIONS, LLM, backend=backend)
    assert OTHER in degraded.categories
    assert not cache_path(degraded.key).exists()
    calls = server.calls
    healed = discover_skills(QUESTIONS, LLM, backend=backend)
    assert server.calls == calls + 5
    assert OTHER not in healed.categories and cache_path(healed.key).exists()


def test_llm_mapping_is_the_same_from_two_fresh_homes(teacher, tmp_path, monkeypatch):
    server, backend = teacher
    mappings = []
    for name in ("a", "b"):
        monkeypatch.setenv("TEACHENV_HOME", str(tmp_path / name))
        calls = server.calls
        mappings.append(discover_skills(QUESTIONS, LLM, backend=backend))
        assert server.calls == calls + 5  # nothing cached in a fresh home: asked again
    assert mappings[0] == mappings[1]


def test_llm_repairs_malformed_replies_and_never_raises():
    server, backend = _serve(malformed_rate=0.3)
    try:
        config = SkillDiscoveryConfig(source="llm", categories=3, batch_size=2)
        mapping = discover_skills(QUESTIONS, config, backend=backend)
    finally:
        backend.close()
        server.stop()
    assert server.brain.malformed > 0  # the faults really happened
    assert server.calls > 16 + 1  # ... and were repaired: more calls than the 16 + 1 first requests
    assert set(mapping.assignments) == {e.id for e in QUESTIONS}
    assert len([c for c in mapping.categories if c != OTHER]) <= 3
    # a question either got its generic label or, with its batch unusable, went to "other"
    for example in QUESTIONS:
        label = mapping.labels[example.id]
        assert label in (generic_label(example.prompt), UNLABELLED)
        if label == UNLABELLED:
            assert mapping.skill_of(example.id) == OTHER


class CannedBackend(TextBackend):
    """Replies with the given texts in turn, and remembers the requests."""

    model_name = "canned"

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)
        self.requests = []

    def generate(self, requests):
        self.requests.extend(requests)
        return [GenerationResult(text=self.texts.pop(0), prompt_tokens=1, completion_tokens=1) for _ in requests]


def test_llm_labels_never_placed_go_to_other_and_unusable_batches_are_unlabelled():
    questions = QUESTIONS[:3]
    placed_once = json.dumps({"categories": [{"name": "sums", "labels": ["adding"]}]})  # "taking away" missing
    backend = CannedBackend([
        json.dumps({"labels": ["adding", "taking away"]}),  # batch 1 (2 questions)
        json.dumps({"labels": ["a", "b"]}), "still wrong",  # batch 2 (1 question): wrong length, then not JSON
        placed_once, placed_once,  # clustering, and its repair: both leave a label out
    ])
    mapping = discover_skills(questions, SkillDiscoveryConfig(source="llm", batch_size=2, max_repairs=1),
                              backend=backend)
    assert not backend.texts  # every canned reply was asked for: the bad ones were repaired once
    assert "labels in no category" not in backend.requests[3].prompt
    assert "1 labels are in no category: 'taking away'" in backend.requests[-1].prompt
    assert mapping.assignments == {questions[0].id: "sums", questions[1].id: OTHER, questions[2].id: OTHER}
    assert mapping.labels[questions[2].id] == UNLABELLED
    assert mapping.categories == (OTHER, "sums")
    assert all(r.temperature == 0 and r.seed is not None for r in backend.requests)


def test_llm_without_a_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="teacher"):
        discover_skills(QUESTIONS, LLM)


# -- the scripted teacher's side ------------------------------------------------------------------

def test_scripted_replies_read_numbered_lines_and_deal_labels_into_groups():
    prompt = "Questions:\n1. 12+34=\n2. max(95, 11)=\n3.   what is 7 *  8 ?\nReply.\n1. not a question"
    assert skill_labels(prompt) == {"labels": ["N+N=", "max(N, N)=", "what is N * N ?"]}
    lines = "\n".join(f"{n}. {label} ({n} questions)" for n, label in enumerate(["d", "a", "c", "b", "e"], 1))
    reply = skill_categories(f"{lines}\nMake at most 2 categories.")
    assert reply == {"categories": [{"name": "a", "labels": ["a", "b"]}, {"name": "c", "labels": ["c", "d", "e"]}]}


# -- file -------------------------------------------------------------------------------------------

def _shipped(tmp_path, drop: int = 0) -> str:
    assignments = {e.id: ("sums" if "+" in e.prompt else "rest") for e in QUESTIONS[drop:]}
    path = tmp_path / "skills.json"
    save_mapping(path, SkillMapping(categories=("rest", "sums"), assignments=assignments))
    return str(path)


def test_file_mapping_round_trips_and_maps_every_question(tmp_path):
    path = _shipped(tmp_path)
    mapping = discover_skills(QUESTIONS, SkillDiscoveryConfig(source="file", mapping_file=path))
    assert mapping == load_mapping(path)
    assert mapping.skill_of("extra/12/34") == "sums"
    relabelled = apply_mapping(QUESTIONS, mapping)
    assert [e.skill for e in relabelled] == [mapping.skill_of(e.id) for e in QUESTIONS]
    assert [e.prompt for e in relabelled] == [e.prompt for e in QUESTIONS]
    assert {e.skill for e in relabelled} == {"sums", "rest"}


def test_file_missing_an_id_is_an_error_naming_it_or_goes_to_other(tmp_path):
    path = _shipped(tmp_path, drop=1)
    with pytest.raises(ConfigError, match=f"1 of the {len(QUESTIONS)}.*{QUESTIONS[0].id}.*missing='other'"):
        discover_skills(QUESTIONS, SkillDiscoveryConfig(source="file", mapping_file=path))
    mapping = discover_skills(QUESTIONS, SkillDiscoveryConfig(source="file", mapping_file=path, missing="other"))
    assert mapping.skill_of(QUESTIONS[0].id) == OTHER
    assert mapping.categories == ("rest", "sums", OTHER)


@pytest.mark.parametrize("content, problem", [
    (None, "does not exist"),
    ("{ not json", "is not JSON"),
    (json.dumps({"categories": ["a"], "assignments": {"x": "b"}}), "wrong shape"),
    (json.dumps(["x", "y"]), "wrong shape"),
])
def test_file_that_cannot_be_used_is_a_config_error_naming_the_path(tmp_path, content, problem):
    path = tmp_path / "mapping.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=problem) as raised:
        discover_skills(QUESTIONS, SkillDiscoveryConfig(source="file", mapping_file=str(path)))
    assert str(path) in str(raised.value)


def test_file_source_without_a_path_is_a_config_error():
    with pytest.raises(ConfigError, match="mapping_file"):
        discover_skills(QUESTIONS, SkillDiscoveryConfig(source="file"))


# -- metadata ---------------------------------------------------------------------------------------

def test_metadata_keeps_the_task_s_own_skills():
    mapping = discover_skills(QUESTIONS, SkillDiscoveryConfig())
    assert mapping.source == "metadata"
    assert mapping.assignments == {e.id: e.skill for e in QUESTIONS}
    assert set(mapping.categories) == set(TASK.skills)
    assert apply_mapping(QUESTIONS, mapping) == QUESTIONS


def test_repeated_ids_are_a_config_error():
    with pytest.raises(ConfigError, match="distinct"):
        discover_skills([QUESTIONS[0], QUESTIONS[0]])
