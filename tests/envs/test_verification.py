"""The verifier: task checks, duplicates within an episode, eval overlaps and the round's limit."""

from __future__ import annotations

import pytest

from teachenv.core.records import TaskExample, TrainingExample
from teachenv.envs.verification import Verifier
from teachenv.tasks.arith.task import ArithTask


def _candidate(prompt: str, skill: str, answer: str, completion: str | None = None) -> TrainingExample:
    example = TaskExample(id=f"c/{prompt}", skill=skill, prompt=prompt, answer=answer)
    return TrainingExample(example=example, completion=answer if completion is None else completion)


EVAL = [TaskExample(id="val/1", skill="add-carry", prompt="15+67=", answer="82")]
A = _candidate("12+34=", "add", "46")
B = _candidate("52-17=", "sub", "35")
C = _candidate("12*3=", "mul", "36")


@pytest.fixture
def verifier() -> Verifier:
    return Verifier(ArithTask(), EVAL)


def _reasons(rejected):
    return [(r.candidate.example.prompt, r.reason) for r in rejected]


def test_valid_candidates_are_accepted_in_their_order(verifier):
    accepted, rejected = verifier.verify([C, A, B])
    assert accepted == [C, A, B]
    assert rejected == []


def test_duplicate_within_one_call_is_rejected(verifier):
    accepted, rejected = verifier.verify([A, B, A])
    assert accepted == [A, B]
    assert _reasons(rejected) == [("12+34=", "duplicate")]


def test_duplicate_differing_only_in_surrounding_whitespace_is_rejected(verifier):
    accepted, rejected = verifier.verify([A, _candidate(" 12+34=\n", "add", "46")])
    assert accepted == [A]
    assert [r.reason for r in rejected] == ["duplicate"]


def test_duplicate_across_calls_is_rejected_until_reset(verifier):
    verifier.verify([A])
    accepted, rejected = verifier.verify([A, B])
    assert accepted == [B]
    assert [r.reason for r in rejected] == ["duplicate"]
    verifier.reset()
    accepted, rejected = verifier.verify([A, B])
    assert accepted == [A, B]
    assert rejected == []


def test_candidate_overlapping_the_eval_split_is_rejected(verifier):
    accepted, rejected = verifier.verify([_candidate("15+67=", "add-carry", "82"), A])
    assert accepted == [A]
    assert _reasons(rejected) == [("15+67=", "overlaps-eval")]


def test_eval_overlap_is_rejected_every_time_not_as_a_duplicate(verifier):
    overlap = _candidate("15+67=", "add-carry", "82")
    verifier.verify([overlap])
    _, rejected = verifier.verify([overlap])
    assert [r.reason for r in rejected] == ["overlaps-eval"]


def test_task_rejection_keeps_the_tasks_reason_and_detail(verifier):
    wrong = _candidate("12+34=", "add", "46", completion="45")
    accepted, rejected = verifier.verify([wrong, _candidate("12+34=", "division", "46")])
    assert accepted == []
    assert [r.reason for r in rejected] == ["wrong-answer", "unknown-skill"]
    assert "46" in rejected[0].detail


def test_rejected_wrong_answer_does_not_block_the_correct_version(verifier):
    accepted, _ = verifier.verify([_candidate("12+34=", "add", "46", completion="45"), A])
    assert accepted == [A]


def test_candidates_beyond_the_limit_are_over_budget(verifier):
    accepted, rejected = verifier.verify([A, B, C], limit=2)
    assert accepted == [A, B]
    assert _reasons(rejected) == [("12*3=", "over-budget")]


def test_over_budget_candidates_are_not_remembered_as_seen(verifier):
    verifier.verify([A, B], limit=1)
    accepted, _ = verifier.verify([B])
    assert accepted == [B]


def test_limit_of_zero_rejects_everything(verifier):
    accepted, rejected = verifier.verify([A, B], limit=0)
    assert accepted == []
    assert [r.reason for r in rejected] == ["over-budget", "over-budget"]


def test_every_candidate_is_either_accepted_or_rejected_once(verifier):
    candidates = [A, A, B, _candidate("15+67=", "add-carry", "82"), _candidate("x", "add", "1"), C]
    accepted, rejected = verifier.verify(candidates, limit=5)
    assert len(accepted) + len(rejected) == len(candidates)
    assert sorted(r.reason for r in rejected) == ["duplicate", "over-budget", "overlaps-eval", "unparseable"]


def test_real_eval_split_items_are_never_accepted():
    task = ArithTask()
    val = task.load("val")
    verifier = Verifier(task, [*val, *task.load("test")])
    candidates = [TrainingExample(example=e, completion=e.answer) for e in val[:: len(val) // 25]]
    accepted, rejected = verifier.verify(candidates)
    assert accepted == []
    assert {r.reason for r in rejected} == {"overlaps-eval"}


def test_eval_item_spelled_with_a_leading_zero_is_not_accepted(verifier):
    accepted, _ = verifier.verify([_candidate("015+67=", "add-carry", "82")])
    assert accepted == []
