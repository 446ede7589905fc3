"""``MemoryStudent``: a student without a model, for tests of the environment's own logic (spaces,
budgets, records, rewards), which should not pay TRL's start-up every round.

It answers an evaluation item right exactly when it has been trained on an example of the item's
skill since ``reset`` (or was built knowing that skill), and wrong otherwise; the task grades its
answers like any student's. So its accuracies, and an environment's rewards, are known in advance:
training only on ``sub`` in a five-skill world moves mean accuracy by exactly 1/5. Learning claims
belong to the real student.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from teachenv.core.records import EvalReport, GradedPrediction, SkillReport, TrainingExample, TrainMetrics
from teachenv.student.base import Student
from teachenv.tasks.base import EvalSplit, Task

WRONG = "no idea"


class MemoryStudent(Student):
    def __init__(self, task: Task, knows: Iterable[str] = ()) -> None:
        self.task = task
        self.known_at_start = frozenset(knows)
        self.trained: Counter[str] = Counter()
        self.resets = 0

    def reset(self, seed: int) -> None:
        self.trained = Counter()
        self.resets += 1

    def train(self, examples: Sequence[TrainingExample], seed: int) -> TrainMetrics:
        self.trained.update(e.example.skill for e in examples)
        return TrainMetrics(examples=len(examples), steps=1 if examples else 0, train_loss=0.0 if examples else None)

    def knows(self, skill: str) -> bool:
        return skill in self.known_at_start or self.trained[skill] > 0

    def evaluate(self, split: EvalSplit) -> tuple[EvalReport, list[GradedPrediction]]:
        examples = self.task.load(split)
        completions = [e.answer if self.knows(e.skill) else WRONG for e in examples]
        credits = self.task.credit_many(examples, completions)
        predictions = [GradedPrediction(example_id=e.id, skill=e.skill, prompt=self.task.prompt(e), completion=c,
                                        answer=e.answer, correct=credit >= 1.0, credit=credit)
                       for e, c, credit in zip(examples, completions, credits, strict=True)]
        reports = tuple(SkillReport(skill=s, n=sum(p.skill == s for p in predictions),
                                    correct=sum(p.credit for p in predictions if p.skill == s))
                        for s in self.task.skills)
        return EvalReport(split=split, skills=reports), predictions

    def save_adapter(self, path: Path) -> None:
        """Nothing to save: it has no weights."""

    def restore(self, examples: Sequence[TrainingExample], adapter: Path | None) -> None:
        """A replayed round's examples, learnt again (it has no weights to load)."""
        self.trained.update(e.example.skill for e in examples)


def make_env(env_id: str, config: dict | None = None, *, knows: Iterable[str] = (), **kwargs):
    """``gymnasium.make(env_id, ...)``, unwrapped, with its task built once and a ``MemoryStudent`` injected."""
    import gymnasium

    from teachenv.envs.build import as_run_config, build_task
    from teachenv.envs.defaults import plumbing_config

    run_config = as_run_config(config) if config is not None else plumbing_config()
    task = build_task(run_config)
    return gymnasium.make(env_id, config=run_config, task=task, student=MemoryStudent(task, knows),
                          **kwargs).unwrapped
