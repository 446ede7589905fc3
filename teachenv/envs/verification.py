"""Verify candidate training examples before the student sees them.

Each candidate is checked by the task, then dropped if it overlaps the validation / test split
(``Decontaminator``: exact, normalised and n-gram matches) or repeats an earlier example of the
episode (exact or normalised). Rejections are kept with their reason and, for overlaps, how.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from teachenv.core.records import RejectedExample, TaskExample, TrainingExample
from teachenv.envs.decontamination import Decontaminator, normalised_key
from teachenv.tasks.base import Task


class Verifier:
    """Holds the episode's memory of seen questions; ``reset`` forgets it."""

    def __init__(self, task: Task, eval_examples: Iterable[TaskExample]) -> None:
        self.task = task
        self.decontaminator = Decontaminator(eval_examples, ngrams=not task.templated)
        self.seen: set[str] = set()

    def reset(self) -> None:
        self.seen.clear()

    def verify(self, candidates: Sequence[TrainingExample], limit: int | None = None
               ) -> tuple[list[TrainingExample], list[RejectedExample]]:
        """Split candidates into accepted and rejected; candidates past ``limit`` are 'over-budget'."""
        accepted: list[TrainingExample] = []
        rejected: list[RejectedExample] = []
        checked = list(candidates if limit is None else candidates[:limit])
        verdicts = self.task.verify_many(checked) if checked else []  # one batch: code runs in one sandbox
        for index, candidate in enumerate(candidates):
            if index >= len(checked):
                rejected.append(RejectedExample(candidate=candidate, reason="over-budget"))
                continue
            verdict = verdicts[index]
            if not verdict.accepted:
                rejected.append(RejectedExample(candidate=candidate, reason=verdict.reason or "wrong-answer",
                                                detail=verdict.detail))
                continue
            overlap = self.decontaminator.match(candidate.example)
            keys = {candidate.example.content_key, normalised_key(candidate.example)}
            if overlap is not None:
                rejected.append(RejectedExample(candidate=candidate, reason="overlaps-eval", detail=overlap))
            elif keys & self.seen:
                rejected.append(RejectedExample(candidate=candidate, reason="duplicate"))
            else:
                self.seen.update(keys)
                accepted.append(candidate)
        return accepted, rejected
