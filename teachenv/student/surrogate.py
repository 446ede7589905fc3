"""``SurrogateStudent``: a learning-dynamics model in place of a network, for training teachers in milliseconds.

Each skill's accuracy ``p`` moves, each round, with the share ``x`` of the round's accepted examples that
are of that skill (a round trains a fixed number of steps, so the share, not the count, is the exposure):

    p' = p + (ceiling − p) · (1 − exp(−rate · (x + transfer · (1 − x))))  −  forgetting · (1 − x) · p

saturating towards a per-skill ceiling, helped a little by the other skills' examples (``transfer``) and
losing a share of what it knows in proportion to how starved the skill was (``forgetting``). Evaluation:
each item of a split has a difficulty drawn once per episode (seeded by the reset seed) and is answered
right while its skill's ``p`` exceeds it, so a split's accuracy carries the sampling noise of a set of that
size, an unchanged student gives the same answers (as greedy decoding does), and a rising ``p`` turns the
easiest wrong items right first. The parameters are fitted from
logged real episodes by ``scripts/fit_surrogate.py``; the shipped fit is ``surrogate_arith.json``.

It knows nothing of tokens, prompts or models: it reads only the skill of each training example (or, through
``train_counts``, only the counts per skill), and a config may name it as ``student.model: surrogate`` for the arithmetic world.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.records import EvalReport, GradedPrediction, SkillReport, TrainingExample, TrainMetrics
from teachenv.student.base import Student
from teachenv.tasks.base import EvalSplit, Task

SHIPPED = Path(__file__).with_name("surrogate_arith.json")
WRONG = "(surrogate: wrong)"


class SurrogateParams(BaseModel):
    """A fitted learning-dynamics model of one world's student."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: dict[str, float] = Field(description="Accuracy per skill after reset (the base student's).")
    ceiling: dict[str, float]
    rate: dict[str, float]
    transfer: float = Field(0.0, ge=0, le=1)
    forgetting: float = Field(0.0, ge=0, le=1)
    fitted_on: list[str] = Field(default_factory=list, description="The episodes the fit read.")

    @classmethod
    def load(cls, path: Path = SHIPPED) -> SurrogateParams:
        return cls.model_validate(json.loads(Path(path).read_text()))


def dynamics(p: Any, x: Any, ceiling: Any, rate: Any, transfer: Any, forgetting: Any) -> Any:
    """The accuracy after one round from accuracy ``p`` with share ``x`` of the round's examples: the module's
    formula, on numbers or on broadcasting numpy arrays (the fit evaluates a whole grid of parameters at once)."""
    exposure = x + transfer * (1 - x)
    gain = (ceiling - p) * (1 - np.exp(-rate * exposure))
    return np.clip(p + gain - forgetting * (1 - x) * p, 0.0, 1.0)


def step(params: SurrogateParams, accuracy: Mapping[str, float], shares: Mapping[str, float]) -> dict[str, float]:
    """One round of the dynamics: the accuracy per skill after training on data with these skill ``shares``."""
    return {skill: float(dynamics(p, shares.get(skill, 0.0), params.ceiling[skill], params.rate[skill],
                                  params.transfer, params.forgetting))
            for skill, p in accuracy.items()}


def shares_of(counts: Mapping[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {skill: n / total for skill, n in counts.items()} if total else {}


class SurrogateStudent(Student):
    """The dynamics of ``params`` behind the student interface (for the skills of ``task``)."""

    def __init__(self, task: Task, params: SurrogateParams | None = None) -> None:
        self.task = task
        self.params = params or SurrogateParams.load()
        missing = set(task.skills) - set(self.params.start)
        if missing:
            raise ValueError(f"the surrogate's parameters have no skill {sorted(missing)} of task {task.name!r}: "
                             f"fit it on this world's episodes with scripts/fit_surrogate.py")
        self.accuracy = dict(self.params.start)
        self._seed = 0

    def reset(self, seed: int) -> None:
        self.accuracy = {s: self.params.start[s] for s in self.task.skills}
        self._seed = seed

    def train(self, examples: Sequence[TrainingExample], seed: int) -> TrainMetrics:
        return self.train_counts(Counter(e.example.skill for e in examples))

    def train_counts(self, counts: Mapping[str, int]) -> TrainMetrics:
        """One round on data with these ``counts`` per skill (only their shares matter): what ``train`` does
        with the skills of its examples, for callers that never make the examples."""
        total = sum(counts.values())
        if total:
            self.accuracy = step(self.params, self.accuracy, shares_of(counts))
        return TrainMetrics(examples=total, steps=1 if total else 0, train_loss=None)

    def evaluate(self, split: EvalSplit) -> tuple[EvalReport, list[GradedPrediction]]:
        examples = self.task.load(split)
        difficulty = np.random.default_rng([self._seed, zlib.crc32(split.encode())]).random(len(examples))
        right = difficulty < np.array([self.accuracy[e.skill] for e in examples])
        predictions = [GradedPrediction(example_id=e.id, skill=e.skill, prompt=self.task.prompt(e),
                                        completion=e.answer if ok else WRONG, answer=e.answer, correct=bool(ok))
                       for e, ok in zip(examples, right, strict=True)]
        reports = tuple(SkillReport(skill=s, n=sum(p.skill == s for p in predictions),
                                    correct=sum(p.correct for p in predictions if p.skill == s))
                        for s in self.task.skills)
        return EvalReport(split=split, skills=reports), predictions

    def save_adapter(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "surrogate_state.json").write_text(json.dumps(
            {"accuracy": self.accuracy, "seed": self._seed}))

    def restore(self, examples: Sequence[TrainingExample], adapter: Path | None) -> None:
        if adapter is None or not (adapter / "surrogate_state.json").is_file():
            raise ValueError("the surrogate student resumes from its saved state (surrogate_state.json), "
                             f"which is missing from {adapter}")
        state = json.loads((adapter / "surrogate_state.json").read_text())
        self.accuracy, self._seed = state["accuracy"], state["seed"]
