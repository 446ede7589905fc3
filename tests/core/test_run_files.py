"""``episode.jsonl`` rows and ``summary.json`` are written and read by one type each: what is written
reads back equal, and a file missing a documented field is refused rather than read with a guess."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from teachenv.core.ledger import CostLedger
from teachenv.core.records import EpisodeRow, EvalReport, RoundResult, SkillReport, TrainMetrics
from teachenv.core.run_summary import RunSummary


def report(split, add, sub):
    return EvalReport(split=split, skills=(SkillReport(skill="add", n=4, correct=add),
                                           SkillReport(skill="sub", n=4, correct=sub)))


FIRST = RoundResult(round=0, val=report("val", 3, 0), test=report("test", 2, 0), cost=CostLedger().snapshot())
LAST = RoundResult(round=2, val=report("val", 3, 2), test=report("test", 3, 1), cost=CostLedger().snapshot(),
                   examples_generated=10, examples_accepted=7, reward=0.25, train=TrainMetrics(examples=7, steps=2),
                   terminated=True, plan_error="no line of the plan names a skill")


@pytest.mark.parametrize("result", [FIRST, LAST])
def test_an_episode_row_reads_back_as_written(result):
    row = result.episode_row({"train": 1.23456})
    line = json.dumps(row.model_dump(mode="json"))
    assert EpisodeRow.model_validate(json.loads(line)) == row
    assert row.timings == {"train": 1.235} and row.test_accuracy == result.test.accuracy


def test_keys_of_some_rounds_only_are_left_out_when_empty():
    written = FIRST.episode_row().model_dump(mode="json")
    assert "plan_error" not in written and "timings" not in written and written["reward"] is None
    assert LAST.episode_row().model_dump(mode="json")["plan_error"] == LAST.plan_error


def test_a_summary_reads_back_as_written(tmp_path):
    summary = RunSummary.of(FIRST, LAST, seconds=12.345, peak_memory_mb=300.04, teacher_calls=None, resumed_from=1)
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary.model_dump(mode="json")))
    assert RunSummary.read(path) == summary
    assert summary.test_gain == pytest.approx(0.25) and summary.seconds == 12.3 and summary.rounds == 2


def test_a_row_without_a_documented_field_is_refused():
    row = FIRST.log_row()
    del row["val_accuracy"]
    with pytest.raises(ValidationError, match="val_accuracy"):
        EpisodeRow.model_validate(row)
