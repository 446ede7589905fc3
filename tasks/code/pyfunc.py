"""``PyFuncTask`` (``pyfunc``): the offline code world — write a one-line Python function body from its
docstring, graded by executing it on hidden inputs in the sandbox (``pyfunc_world`` makes the problems).

Validation and test problems are held out by a hash of (family, specification); ``generate`` makes
fresh training problems of a family (the reference body as the completion, the hidden asserts as
tests), so the procedural engine, the tiny student's pretraining and the scripted teacher all work
on it. A teacher's example counts only if its body passes its own tests and an empty body does not.
It knows nothing about models or engines.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.hashing import content_hash
from teachenv.core.records import TaskExample, TrainingExample
from teachenv.sandbox import SandboxConfig
from teachenv.tasks.code.graded import ExecutedTask
from teachenv.tasks.code.pyfunc_world import SKILLS, Problem, sample_problem
from teachenv.tasks.world import WorldItem, WorldTask

class PyFuncConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    val_per_skill: int = Field(50, ge=1, description="Validation problems per family.")
    test_per_skill: int = Field(100, ge=1, description="Test problems per family.")
    holdout: float = Field(0.2, gt=0, le=0.3, description="Share of specifications held out for each eval split.")
    split_seed: int = Field(0, description="Which held-out problems are drawn; fixed across episodes.")
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig, description="Limits of the runs that grade.")


class PyFuncTask(ExecutedTask, WorldTask):
    name: ClassVar[str] = "pyfunc"
    Config: ClassVar[type[BaseModel]] = PyFuncConfig
    max_new_tokens: ClassVar[int] = 56
    templated: ClassVar[bool] = True
    eval_only_fields: ClassVar[frozenset[str]] = frozenset({"val_per_skill", "test_per_skill", "sandbox"})

    def __init__(self, config: PyFuncConfig | None = None) -> None:
        super().__init__(config)
        self._solved: dict[str, str] = {}  # prompt → reference body of every problem made so far

    @property
    def skills(self) -> tuple[str, ...]:
        return SKILLS

    def _example(self, problem: Problem) -> TaskExample:
        self._solved[problem.prompt] = problem.completion
        return TaskExample(id=f"pyfunc/{problem.skill}/{content_hash(problem.spec)[:12]}", skill=problem.skill,
                           prompt=problem.prompt, answer=problem.completion, tests=problem.tests())

    def sample(self, skill: str, rng: np.random.Generator, params: dict | None = None) -> WorldItem | None:
        problem = sample_problem(skill, rng)
        return WorldItem(problem.spec, problem.split(self.config.holdout), problem.completion,
                         lambda: self._example(problem))

    def solve(self, question: str) -> str | None:
        return self._solved.get(question)

    def describe_skill(self, skill: str) -> str:
        return {
            "arith": "one or two arithmetic steps on an integer x ('add 12, then multiply by 3')",
            "cond": "a value chosen by comparing x ('7 if x is greater than 40, else x')",
            "string": "an operation on a string s ('s without its first 3 characters')",
            "list": "an operation on a list of integers xs ('the elements of xs greater than 5')",
        }.get(skill, skill)
