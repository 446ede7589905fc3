"""Typed records: content keys, immutability, JSON round trips, accuracies, the episode log row;
and the stable hash behind held-out splits."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from teachenv.core.hashing import content_hash, stable_fraction
from teachenv.core.ledger import CostLedger
from teachenv.core.records import (
    DataGenerationAction,
    EvalReport,
    RoundResult,
    SkillReport,
    SkillRequest,
    TaskExample,
    TrainingExample,
    TrainMetrics,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"


def _example(prompt: str = "12+34=", image: bytes | None = None, **kw) -> TaskExample:
    return TaskExample(id=kw.pop("id", "e1"), skill="add", prompt=prompt, answer="46", image=image, **kw)


# -- TaskExample ------------------------------------------------------------------------------


def test_content_key_ignores_surrounding_whitespace():
    assert _example("12+34=").content_key == _example("  12+34=\n").content_key


def test_content_key_ignores_id_skill_and_answer():
    other = TaskExample(id="other", skill="add-carry", prompt="12+34=", answer="0")
    assert other.content_key == _example("12+34=").content_key


def test_content_key_differs_for_a_different_prompt():
    assert _example("12+34=").content_key != _example("12+35=").content_key


def test_image_bytes_change_the_content_key():
    plain = _example(image=None).content_key
    one = _example(image=PNG).content_key
    two = _example(image=PNG + b"\x00").content_key
    assert len({plain, one, two}) == 3


def test_records_are_frozen():
    example = _example()
    with pytest.raises(ValidationError):
        example.prompt = "1+1="


def test_records_reject_unknown_fields():
    with pytest.raises(ValidationError):
        TaskExample(id="e", skill="add", prompt="1+1=", answer="2", dificulty=3)


def test_task_example_with_image_round_trips_through_json_as_base64():
    example = _example(image=PNG, params={"digits": 2, "ratio": 0.5, "tag": "x", "flag": True}, tests=("assert 1",))
    text = example.model_dump_json()
    stored = json.loads(text)["image"]
    assert isinstance(stored, str)
    assert base64.urlsafe_b64decode(stored + "=" * (-len(stored) % 4)) == PNG
    again = TaskExample.model_validate_json(text)
    assert again == example
    assert again.image == PNG
    assert again.content_key == example.content_key


def test_task_example_round_trips_through_a_json_dict():
    # The run directory writes model_dump(mode="json") and reads the dicts back.
    example = _example(image=PNG)
    assert TaskExample.model_validate(json.loads(json.dumps(example.model_dump(mode="json")))) == example


def test_training_example_round_trips_through_json():
    candidate = TrainingExample(example=_example(image=PNG), completion="46", origin="agent")
    assert TrainingExample.model_validate_json(candidate.model_dump_json()) == candidate


# -- reports and actions ------------------------------------------------------------------------


def test_skill_accuracy_is_correct_over_n_and_zero_for_no_items():
    assert SkillReport(skill="a", n=8, correct=2).accuracy == 0.25
    assert SkillReport(skill="a", n=0, correct=0).accuracy == 0.0


def test_eval_accuracy_is_the_unweighted_mean_over_skills():
    report = EvalReport(split="val", skills=(
        SkillReport(skill="big", n=90, correct=0),
        SkillReport(skill="small", n=10, correct=10),
    ))
    assert report.accuracy == pytest.approx(0.5)
    assert report.accuracy_by_skill == {"big": 0.0, "small": 1.0}


def test_eval_accuracy_of_no_skills_is_zero():
    assert EvalReport(split="test", skills=()).accuracy == 0.0


def test_eval_report_rejects_an_unknown_split():
    with pytest.raises(ValidationError):
        EvalReport(split="dev", skills=())


def test_skill_request_count_cannot_be_negative():
    with pytest.raises(ValidationError):
        SkillRequest(skill="add", count=-1)


def test_action_requested_counts_requests_and_ready_made_examples():
    action = DataGenerationAction(
        requests=(SkillRequest(skill="add", count=3), SkillRequest(skill="sub", count=4)),
        examples=(TrainingExample(example=_example(), completion="46"),),
    )
    assert action.requested == 8


def _round(test: EvalReport | None = None, **kw) -> RoundResult:
    val = EvalReport(split="val", skills=(SkillReport(skill="add", n=4, correct=3), SkillReport(skill="sub", n=4, correct=1)))
    return RoundResult(round=1, val=val, test=test, cost=CostLedger().snapshot(), examples_generated=10,
                       examples_accepted=7, reward=0.125, train=TrainMetrics(examples=7, steps=2), **kw)


LOG_KEYS = {
    "round", "val_accuracy", "val_accuracy_by_skill", "reward", "examples_generated", "examples_accepted",
    "examples_rejected", "cost",
}


def test_log_row_has_the_documented_keys_and_values():
    row = _round().log_row()
    assert LOG_KEYS <= set(row)
    assert row["round"] == 1
    assert row["val_accuracy"] == pytest.approx(0.5)
    assert row["val_accuracy_by_skill"] == {"add": 0.75, "sub": 0.25}
    assert row["reward"] == 0.125
    assert (row["examples_generated"], row["examples_accepted"], row["examples_rejected"]) == (10, 7, 3)
    assert row["cost"]["examples_generated"] == 0
    assert "test_accuracy" not in row
    assert "test_accuracy_by_skill" not in row


def test_log_row_has_test_accuracy_only_when_test_is_set():
    test = EvalReport(split="test", skills=(SkillReport(skill="add", n=2, correct=2), SkillReport(skill="sub", n=2, correct=0)))
    row = _round(test=test).log_row()
    assert row["test_accuracy"] == pytest.approx(0.5)
    assert row["test_accuracy_by_skill"] == {"add": 1.0, "sub": 0.0}


def test_log_row_is_json_serialisable():
    row = _round(truncated=True, truncated_by=("examples",)).log_row()
    assert json.loads(json.dumps(row)) == row
    assert row["truncated_by"] == ["examples"]


def test_round_number_cannot_be_negative():
    with pytest.raises(ValidationError):
        RoundResult.model_validate({**_round().model_dump(), "round": -1})


# -- hashing ------------------------------------------------------------------------------------


def test_stable_fraction_is_deterministic_and_in_unit_interval():
    values = [stable_fraction("arith", "add", a, 7) for a in range(2000)]
    assert values == [stable_fraction("arith", "add", a, 7) for a in range(2000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert len(set(values)) == len(values)
    assert 0.45 < sum(values) / len(values) < 0.55


def test_stable_fraction_depends_on_every_part():
    assert stable_fraction("arith", "add", 1, 2) != stable_fraction("arith", "add", 2, 1)
    assert stable_fraction("arith", "add", 1, 2) != stable_fraction("arith", "sub", 1, 2)


def test_stable_fraction_is_the_same_in_another_process_with_another_hash_seed():
    code = "from teachenv.core.hashing import stable_fraction; print(repr(stable_fraction('arith', 'add', 12, 34)))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert float(out.stdout) == stable_fraction("arith", "add", 12, 34)


def test_content_hash_ignores_key_order_and_has_the_asked_length():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert len(content_hash("x", length=10)) == 10


def test_partial_credit_defaults_to_correct_and_feeds_accuracy():
    from teachenv.core.records import GradedPrediction

    def prediction(**fields):
        return GradedPrediction(example_id="v/1", skill="s", prompt="q", completion="c", answer="a", **fields)

    assert prediction(correct=True).credit == 1.0 and prediction(correct=False).credit == 0.0
    assert prediction(correct=False, credit=2 / 3).credit == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        prediction(correct=False, credit=1.5)
    # VQA accuracy: three predictions credited 1, 2/3 and 0 give a skill accuracy of 5/9.
    assert SkillReport(skill="s", n=3, correct=1 + 2 / 3).accuracy == pytest.approx(5 / 9)
