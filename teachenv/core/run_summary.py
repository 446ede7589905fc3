"""``RunSummary``: the record of ``summary.json``, the numbers of a finished episode.

``teachenv run`` writes it when an episode ends (``RunSummary.of``); the run's own resume and the
leaderboard read it back (``RunSummary.read``): one type, so the file's fields are defined once
(documented in the README). It knows round results and costs, not how an episode runs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from teachenv.core.ledger import CostSnapshot
from teachenv.core.records import Record, RoundResult


#: Decimals of the accuracies in ``summary.json``: for people (0.56, not 0.5599999999999999), and still exact
#: for any split of up to 10^6 items. What a resume reads back keeps full precision in the rounds' files.
SUMMARY_DECIMALS = 6


def _rounded(value: float) -> float:
    return round(value, SUMMARY_DECIMALS)


def _rounded_by_skill(values: dict[str, float]) -> dict[str, float]:
    return {skill: _rounded(value) for skill, value in values.items()}


class StartEnd(Record):
    """A value at reset and at the end of the episode."""

    start: float
    end: float


class StartEndBySkill(Record):
    start: dict[str, float]
    end: dict[str, float]


class RunSummary(Record):
    rounds: int = Field(ge=0, description="Rounds the episode ran.")
    val_accuracy: StartEnd
    test_accuracy: StartEnd
    test_gain: float = Field(description="Test accuracy at the end minus at reset.")
    val_accuracy_by_skill: StartEndBySkill | None = None
    test_accuracy_by_skill: StartEndBySkill | None = None
    cost: CostSnapshot
    truncated_by: tuple[str, ...] = Field((), description="The budgets that ended the episode.")
    seconds: float = Field(description="Wall seconds; a resumed run's count the finished rounds as first counted.")
    peak_memory_mb: float
    teacher_calls: dict[str, int] | None = Field(
        None, description="Response-cache hits, new calls and newly paid tokens (None without a teacher).")
    resumed_from: int | None = Field(None, description="The last finished round a resume continued after.")

    @classmethod
    def of(cls, first: RoundResult, last: RoundResult, *, seconds: float, peak_memory_mb: float,
           teacher_calls: dict[str, int] | None, resumed_from: int | None) -> RunSummary:
        """The summary of an episode from its round-0 result and its last one (both measured the test split)."""
        if first.test is None or last.test is None:
            raise ValueError("An episode's first and last rounds measure the test split; one of them has none.")
        return cls(
            rounds=last.round,
            val_accuracy=StartEnd(start=_rounded(first.val.accuracy), end=_rounded(last.val.accuracy)),
            test_accuracy=StartEnd(start=_rounded(first.test.accuracy), end=_rounded(last.test.accuracy)),
            test_gain=_rounded(last.test.accuracy - first.test.accuracy),
            val_accuracy_by_skill=StartEndBySkill(start=_rounded_by_skill(first.val.accuracy_by_skill),
                                                  end=_rounded_by_skill(last.val.accuracy_by_skill)),
            test_accuracy_by_skill=StartEndBySkill(start=_rounded_by_skill(first.test.accuracy_by_skill),
                                                   end=_rounded_by_skill(last.test.accuracy_by_skill)),
            cost=last.cost, truncated_by=last.truncated_by,
            seconds=round(seconds, 1), peak_memory_mb=round(peak_memory_mb, 1),
            teacher_calls=teacher_calls, resumed_from=resumed_from,
        )

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
