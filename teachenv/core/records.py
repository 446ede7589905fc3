"""Typed records passed between the task, the engines, the student and the environment.

Every record is a frozen pydantic model, so it validates on construction, serialises to JSON for
the run directory and compares by value (which `gymnasium`'s determinism checks rely on).
This module knows no model library and no particular task.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from teachenv.core.ledger import CostSnapshot


class Record(BaseModel):
    """Base of all records: frozen, no unknown fields, bytes as base64 in JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")


class TaskExample(Record):
    """One item of a task: what the student is asked and how the answer is known.

    ``image`` (PNG bytes) and ``tests`` (code to execute) let the VQA and code tracks use the same
    record; a plain text task leaves both empty.
    """

    id: str = Field(description="Stable id; for generated worlds a hash of skill and content.")
    skill: str = Field(description="The skill this example exercises (a name from the task's skills).")
    prompt: str = Field(description="The task's question, before the student's prompt format is applied.")
    answer: str = Field(description="The gold answer the checker compares against.")
    params: dict[str, int | float | str | bool] = Field(
        default_factory=dict, description="Generator parameters (digits, carries, ...), for finer subskills."
    )
    image: bytes | None = Field(default=None, description="PNG bytes for visual tasks.")
    tests: tuple[str, ...] = Field(default=(), description="Test code for code tasks, run in the sandbox.")

    @property
    def content_key(self) -> str:
        """Identity of the question itself, used to find duplicates and eval-split overlaps."""
        digest = hashlib.sha256()
        digest.update(self.prompt.strip().encode())
        if self.image is not None:
            digest.update(self.image)
        return digest.hexdigest()


class TrainingExample(Record):
    """A candidate training example: a task example plus the completion the student learns."""

    example: TaskExample
    completion: str = Field(description="The target text the student is trained to produce.")
    origin: str = Field(default="engine", description="Who made it: an engine name or 'agent' for ready-made data.")


RejectionReason = Literal[
    "wrong-answer",  # the checker disagrees with the stated completion
    "unparseable",  # the example could not be read (malformed prompt, reply not JSON, ...)
    "unknown-skill",  # names a skill the task does not have
    "skill-mismatch",  # a valid example, but not of the skill it claims
    "duplicate",  # same question as an earlier example in this episode
    "overlaps-eval",  # the question is in the validation or test split
    "over-budget",  # generated beyond the round's cap or the episode's example budget
    "disagreement",  # independent teacher samples did not agree on the answer
    "teacher-error",  # the teacher's call failed (after its retries): nothing to read
    "tests-fail",  # a code example's reference solution fails its own tests in the sandbox
    "trivial-tests",  # a code example's tests pass on an empty body (they test nothing)
]


class RejectedExample(Record):
    """A candidate that did not reach the student, with the reason; kept so yield is measurable."""

    candidate: TrainingExample
    reason: RejectionReason
    detail: str = ""


class Verdict(Record):
    """A checker's decision on one candidate."""

    accepted: bool
    reason: RejectionReason | None = None
    detail: str = ""


class GradedPrediction(Record):
    """The student's completion for one evaluation example, graded by the task."""

    example_id: str
    skill: str
    prompt: str
    completion: str
    answer: str
    correct: bool
    credit: float = Field(ge=0, le=1, description="Partial credit (VQA accuracy); 1.0 / 0.0 as `correct` if not given.")

    @model_validator(mode="before")
    @classmethod
    def _credit_from_correct(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("credit") is None:
            data = {**data, "credit": 1.0 if data.get("correct") else 0.0}
        return data


class SkillReport(Record):
    """Accuracy of the student on one skill of one split."""

    skill: str
    n: int
    correct: float = Field(description="Sum of the predictions' credit (a count for exact-match tasks).")

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


class EvalReport(Record):
    """Per-skill results of one evaluation; ``accuracy`` is the unweighted mean over skills."""

    split: Literal["train", "val", "test"]
    skills: tuple[SkillReport, ...]

    @property
    def accuracy(self) -> float:
        return sum(s.accuracy for s in self.skills) / len(self.skills) if self.skills else 0.0

    @property
    def accuracy_by_skill(self) -> dict[str, float]:
        return {s.skill: s.accuracy for s in self.skills}


class SkillRequest(Record):
    """Ask the data-generation engine for ``count`` examples of ``skill``."""

    skill: str
    count: int = Field(ge=0)
    params: dict[str, int | float | str | bool] = Field(default_factory=dict)


class DataGenerationAction(Record):
    """What the teacher asks for in one round, in typed form.

    Array actions of the gymnasium action space are converted to this record; programmatic and LLM
    agents may build it directly. ``examples`` are ready-made examples from agents that generate
    their own data: they are verified like any other.
    """

    requests: tuple[SkillRequest, ...] = ()
    examples: tuple[TrainingExample, ...] = ()
    plan: str | None = Field(default=None, description="Free-form plan text, for engines that read one.")
    plan_error: str | None = Field(
        default=None, description="Why the plan could not be used (the round is then a recorded no-op)."
    )

    @property
    def requested(self) -> int:
        return sum(r.count for r in self.requests) + len(self.examples)


class TrainMetrics(Record):
    """What one call to ``Student.train`` did."""

    examples: int
    steps: int
    train_loss: float | None = None
    trainable_parameters: int = 0


class RoundResult(Record):
    """Everything deterministic about one round (round 0 = the state after ``reset``).

    Its ``log_row`` is the row written to ``episode.jsonl``; timings are added beside it by the
    recorder, never inside, so two runs of the same seed and config give equal results.
    """

    round: int = Field(ge=0)
    requested: dict[str, int] = Field(default_factory=dict, description="Examples asked per skill (after clipping).")
    ready_made: int = Field(0, description="Ready-made examples the action carried.")
    examples_generated: int = 0
    examples_accepted: int = 0
    accepted_by_skill: dict[str, int] = Field(default_factory=dict)
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)
    train: TrainMetrics | None = None
    val: EvalReport
    reward: float | None = Field(None, description="Change in mean validation accuracy; None at round 0.")
    reward_by_skill: dict[str, float] = Field(default_factory=dict)
    test: EvalReport | None = Field(None, description="Measured at reset and when the episode ends.")
    cost: CostSnapshot
    terminated: bool = False
    truncated: bool = False
    truncated_by: tuple[str, ...] = ()
    plan_error: str | None = Field(None, description="Why the round's plan could not be used (a no-op round).")

    @property
    def examples_rejected(self) -> int:
        return self.examples_generated - self.examples_accepted

    def episode_row(self, timings: dict[str, float] | None = None) -> EpisodeRow:
        """The round as its ``episode.jsonl`` row (``timings``, wall seconds per phase, beside it)."""
        return EpisodeRow(
            round=self.round, val_accuracy=self.val.accuracy, val_accuracy_by_skill=self.val.accuracy_by_skill,
            reward=self.reward, reward_by_skill=self.reward_by_skill, requested=self.requested,
            ready_made=self.ready_made, examples_generated=self.examples_generated,
            examples_accepted=self.examples_accepted, examples_rejected=self.examples_rejected,
            accepted_by_skill=self.accepted_by_skill, rejected_by_reason=self.rejected_by_reason, train=self.train,
            cost=self.cost, terminated=self.terminated, truncated=self.truncated, truncated_by=self.truncated_by,
            plan_error=self.plan_error, test_accuracy=self.test.accuracy if self.test is not None else None,
            test_accuracy_by_skill=self.test.accuracy_by_skill if self.test is not None else None,
            timings=None if timings is None else {k: round(v, 3) for k, v in timings.items()},
        )

    def log_row(self) -> dict[str, Any]:
        """The ``episode.jsonl`` row as JSON (schema documented in the README)."""
        return self.episode_row().model_dump(mode="json")


#: Keys of an ``episode.jsonl`` row written only when they hold something.
_OPTIONAL_ROW_KEYS = ("plan_error", "test_accuracy", "test_accuracy_by_skill", "timings")


class EpisodeRow(Record):
    """One row of ``episode.jsonl``: a ``RoundResult`` as logged (``RoundResult.episode_row``) and as read
    back (``EpisodeRow.model_validate``), so the file is written and read by this one type. Keys that are
    None only in some rounds (``plan_error``, the test accuracies, ``timings``) are left out of the file
    when None."""

    round: int = Field(ge=0)
    val_accuracy: float
    val_accuracy_by_skill: dict[str, float]
    reward: float | None = None
    reward_by_skill: dict[str, float] = Field(default_factory=dict)
    requested: dict[str, int] = Field(default_factory=dict)
    ready_made: int = 0
    examples_generated: int
    examples_accepted: int
    examples_rejected: int = 0
    accepted_by_skill: dict[str, int] = Field(default_factory=dict)
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)
    train: TrainMetrics | None = None
    cost: CostSnapshot
    terminated: bool = False
    truncated: bool = False
    truncated_by: tuple[str, ...] = ()
    plan_error: str | None = None
    test_accuracy: float | None = Field(None, description="Only in the round-0 row and the final row.")
    test_accuracy_by_skill: dict[str, float] | None = None
    timings: dict[str, float] | None = Field(None, description="Wall seconds per phase; the only non-deterministic field.")

    @model_serializer(mode="wrap")
    def _leave_out_empty_optional_keys(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if not (k in _OPTIONAL_ROW_KEYS and v is None)}
