"""``MathGrader``: is a completion's final answer equivalent to the gold answer?

It owns the grading policy: extract the final answer (``extraction.py``), compare two plain
numbers exactly in this process (the fast path: GSM8K answers almost always are), and send every
other pair to math-verify in a ``VerifyPool`` of spawned workers (``verify_worker.check``), where
a pathological expression costs one worker and a timeout, never the batch. A timeout or an error
in a worker counts as "not equivalent". It does not know which task or split the answers are from.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from teachenv.core.errors import ConfigError
from teachenv.tasks.math.extraction import final_answer, normalize_number
from teachenv.tasks.math.verify_pool import VerifyPool

VERIFY_TARGET = "teachenv.tasks.math.verify_worker:check"


class MathGrader:
    """Grades math answers; holds worker processes, so ``close()`` it (or use it in a ``with``)."""

    def __init__(self, workers: int = 2, timeout_s: float = 5.0) -> None:
        if workers < 1:
            raise ConfigError(f"MathGrader workers must be >= 1, got {workers}.")
        self._pool = VerifyPool(VERIFY_TARGET, workers=workers, timeout_s=timeout_s)

    def __enter__(self) -> MathGrader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.close()

    def grade(self, golds: Sequence[str], completions: Sequence[str]) -> list[bool]:
        """For each completion, whether its final answer is equivalent to the gold answer."""
        if len(golds) != len(completions):
            raise ValueError(f"grade needs one gold per completion, got {len(golds)} golds and {len(completions)} completions.")
        answers = [final_answer(completion) for completion in completions]
        verdicts = [False] * len(answers)
        with_answer = [i for i, answer in enumerate(answers) if answer is not None]
        pairs = [(golds[i], answers[i]) for i in with_answer]
        for i, verdict in zip(with_answer, self.equivalent_many(pairs)):
            verdicts[i] = verdict
        return verdicts

    def equivalent_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """For each ``(gold answer, predicted answer)``, whether they are equivalent."""
        verdicts: list[bool | None] = []
        for gold, predicted in pairs:
            gold_number, predicted_number = normalize_number(gold), normalize_number(predicted)
            both_numbers = gold_number is not None and predicted_number is not None
            verdicts.append(Decimal(gold_number) == Decimal(predicted_number) if both_numbers else None)
        slow = [i for i, verdict in enumerate(verdicts) if verdict is None]
        if slow:
            results = self._pool.map([(pairs[i][0], pairs[i][1]) for i in slow])
            for i, result in zip(slow, results):
                verdicts[i] = result.ok and result.value is True
        return [bool(verdict) for verdict in verdicts]

    def equivalent(self, gold: str, predicted: str) -> bool:
        """Whether one predicted answer is equivalent to its gold answer."""
        return self.equivalent_many([(gold, predicted)])[0]
