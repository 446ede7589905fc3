"""``ExecutedTask``: what every code task shares — answers graded by running them against the example's
tests in one batched sandbox run, and teacher-written examples verified by their own tests.

A task says how a completion becomes a program (``program``) and what the same program with its
function bodies emptied is (``empty_program``): tests that pass on that test nothing. By default a
completion is a function body appended to the prompt (HumanEval's layout). It expects the task's
config to hold a ``sandbox`` (``SandboxConfig``) and, for ``skills``, the task to keep its examples in
``_splits``; it knows nothing about datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from teachenv.core.records import TaskExample, TrainingExample, Verdict
from teachenv.tasks.base import Task
from teachenv.tasks.code.execution import run_solutions, truncate, verify_solutions

#: The body an "empty" solution has.
EMPTY_BODY = "    pass\n"


class ExecutedTask(Task):
    #: Graded by running tests, so a teacher's example brings its own (checked by ``verify_many``).
    needs_tests: ClassVar[bool] = True

    @property
    def skills(self) -> tuple[str, ...]:
        """The skills the examples carry: one (``all``) unless ``task.skills`` discovered them."""
        return tuple(sorted({e.skill for examples in self._splits.values() for e in examples}))  # type: ignore[attr-defined]

    def program(self, example: TaskExample, completion: str) -> str:
        """The program a completion stands for (default: the prompt and the body the completion writes)."""
        return example.prompt + truncate(completion)

    def empty_program(self, example: TaskExample, completion: str) -> str | None:
        """The same program with its function bodies emptied (None: not valid Python)."""
        return example.prompt + EMPTY_BODY

    def credit_many(self, examples: Sequence[TaskExample], completions: Sequence[str]) -> list[float]:
        results = run_solutions([self.program(e, c) for e, c in zip(examples, completions, strict=True)],
                                [e.tests for e in examples], self.config.sandbox)  # type: ignore[attr-defined]
        return [1.0 if r.status == "passed" else 0.0 for r in results]

    def score(self, example: TaskExample, completion: str) -> bool:
        return self.credit_many([example], [completion])[0] == 1.0

    def verify(self, candidate: TrainingExample) -> Verdict:
        return self.verify_many([candidate])[0]

    def verify_many(self, candidates: Sequence[TrainingExample]) -> list[Verdict]:
        """A solution must pass its example's tests, and the emptied program must fail them."""
        verdicts: list[Verdict | None] = [None] * len(candidates)
        items, known = [], []
        for i, candidate in enumerate(candidates):
            example = candidate.example
            if example.skill not in self.skills:
                verdicts[i] = Verdict(accepted=False, reason="unknown-skill", detail=example.skill)
                continue
            known.append(i)
            items.append((self.program(example, candidate.completion),
                          self.empty_program(example, candidate.completion), example.tests))
        for i, verdict in zip(known, verify_solutions(items, self.config.sandbox), strict=True):  # type: ignore[attr-defined]
            verdicts[i] = verdict
        return verdicts  # type: ignore[return-value]
