"""The student interface the environment uses: reset, train, evaluate, save the adapter.

A student is built for one task (it formats prompts with ``task.prompt`` and grades with
``task.score``). It knows nothing about teachers, rewards or budgets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from teachenv.core.records import EvalReport, GradedPrediction, TrainingExample, TrainMetrics
from teachenv.tasks.base import EvalSplit


class Student(ABC):
    @abstractmethod
    def reset(self, seed: int) -> None:
        """Restore the starting weights: drop every adapter and all data trained on so far."""

    @abstractmethod
    def train(self, examples: Sequence[TrainingExample], seed: int) -> TrainMetrics:
        """Fine-tune on ``examples`` (continual: the same adapter; retrain: a fresh one on all data so far)."""

    @abstractmethod
    def evaluate(self, split: EvalSplit) -> tuple[EvalReport, list[GradedPrediction]]:
        """Greedy answers to every example of ``split``, graded per skill by the task."""

    @abstractmethod
    def save_adapter(self, path: Path) -> None:
        """Write the current adapter (nothing if none has been trained yet)."""

    def restore(self, examples: Sequence[TrainingExample], adapter: Path | None) -> None:
        """Take up a resumed episode: ``examples`` were trained on in a finished round, and ``adapter``
        (if given) is the adapter saved after the last finished one. Without it the student cannot resume."""
        raise NotImplementedError(f"{type(self).__name__} cannot resume an episode (no restore()).")

    def close(self) -> None:
        """Release what evaluation holds beside the model (a vLLM instance); the default holds nothing."""
