"""``ArithTask``: the arithmetic world as a task, with an exact checker and a generator per skill."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.records import TaskExample, TrainingExample, Verdict
from teachenv.core.errors import InvalidActionError
from teachenv.tasks.arith.world import (
    SKILLS, SUBSKILL_KEYS, Problem, belongs_to, parse_prompt, sample_problem, skill_of, train_pool_size,
)
from teachenv.tasks.world import WorldItem, WorldTask


#: Operand pairs drawn per wanted example before a parameter setting counts as (nearly) impossible.
MAX_DRAWS_PER_EXAMPLE = 2000


class ArithConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    digits: int = Field(2, ge=1, le=4, description="Digits of each operand (mul: times one digit 2-9).")
    val_per_skill: int = Field(100, ge=1, description="Validation examples per skill.")
    test_per_skill: int = Field(100, ge=1, description="Test examples per skill.")
    holdout: float = Field(0.15, gt=0, le=0.3, description="Share of operand pairs held out for each eval split.")
    split_seed: int = Field(0, description="Which held-out items are drawn; fixed across episodes.")
    prompt_style: Literal["plain", "chat"] = Field(
        "plain", description="'chat': the problem is the user turn of the student's chat template, in training and "
        "evaluation alike (an instruct model such as smollm2); 'plain': the bare text, for the tiny students.")


class ArithTask(WorldTask):
    name: ClassVar[str] = "arith"
    Config: ClassVar[type[BaseModel]] = ArithConfig
    max_new_tokens: ClassVar[int] = 6
    env_suffix: ClassVar[str | None] = ""  # teachenv/SkillList-v0 and the other structures' ids
    config: ArithConfig

    @property
    def skills(self) -> tuple[str, ...]:
        return SKILLS

    @property
    def prompt_style(self) -> Literal["plain", "chat"]:
        return self.config.prompt_style

    def train_pool(self, skill: str) -> int | None:
        """Distinct training problems of ``skill`` (None: too many to count, never a round's limit)."""
        return train_pool_size(skill, self.config.digits, self.config.holdout)

    def _example(self, problem: Problem) -> TaskExample:
        return TaskExample(
            id=f"arith/{problem.skill}/{problem.a}/{problem.b}",
            skill=problem.skill,
            prompt=problem.prompt,
            answer=problem.answer,
            params=problem.params,
        )

    def sample(self, skill: str, rng: np.random.Generator, params: dict | None = None) -> WorldItem | None:
        unknown = sorted(set(params or {}) - set(self.subskill_keys(skill)) - {"digits"})
        if unknown:
            raise InvalidActionError(f"arith skill {skill!r} takes the parameters {['digits', *SUBSKILL_KEYS[skill]]}, "
                                     f"not {unknown}")
        problem = sample_problem(skill, self.config.digits, rng, params,
                                 max_draws=MAX_DRAWS_PER_EXAMPLE if params else None)
        if problem is None:
            return None
        return WorldItem(problem, problem.split(self.config.holdout), problem.answer, lambda: self._example(problem))

    def held_out_fix(self) -> str:
        return (f"digits={self.config.digits}, holdout={self.config.holdout}: lower task.val_per_skill / "
                "task.test_per_skill or raise task.holdout or task.digits.")

    def subskill_keys(self, skill: str) -> tuple[str, ...]:
        return SUBSKILL_KEYS.get(skill, ())

    def describe_skill(self, skill: str) -> str:
        digits = self.config.digits
        return {
            "add": f"addition of two {digits}-digit numbers with no carry in any column, written like 12+34=",
            "add-carry": f"addition of two {digits}-digit numbers with at least one carry, written like 18+25=",
            "sub": f"subtraction a-b of {digits}-digit numbers with a >= b, written like 52-17=",
            "mul": f"a {digits}-digit number times one digit from 2 to 9, written like 47*6=",
            "max": f"the larger of two {digits}-digit numbers, written like max(31,58)=",
        }.get(skill, skill)

    def solve(self, question: str) -> str | None:
        parsed = parse_prompt(question)
        if parsed is None:
            return None
        op, a, b = parsed
        return Problem(skill_of(op, a, b), a, b).answer

    def candidate(self, skill: str, question: str, answer: str, origin: str) -> TrainingExample:
        """A teacher's example, with the parameters (carries, borrows, ...) of the problem it really is."""
        made = super().candidate(skill, question, answer, origin)
        parsed = parse_prompt(made.example.prompt)
        if parsed is None:
            return made
        params = Problem(skill_of(*parsed), parsed[1], parsed[2]).params
        return made.model_copy(update={"example": made.example.model_copy(update={"params": params})})

    def verify(self, candidate: TrainingExample) -> Verdict:
        example = candidate.example
        if example.skill not in SKILLS:
            return Verdict(accepted=False, reason="unknown-skill", detail=example.skill)
        parsed = parse_prompt(example.prompt)
        if parsed is None:
            return Verdict(accepted=False, reason="unparseable", detail=example.prompt)
        op, a, b = parsed
        problem = Problem(skill_of(op, a, b), a, b)
        # A non-canonical spelling ("015+67=") would slip an eval item past the overlap check.
        if example.prompt.strip() != problem.prompt:
            return Verdict(accepted=False, reason="unparseable", detail=f"write it as {problem.prompt!r}")
        if problem.skill != example.skill or not belongs_to(problem.skill, a, b, self.config.digits):
            return Verdict(accepted=False, reason="skill-mismatch",
                           detail=f"not a {example.skill} problem with {self.config.digits}-digit operands")
        if candidate.completion.strip() != problem.answer or example.answer.strip() != problem.answer:
            return Verdict(accepted=False, reason="wrong-answer", detail=f"expected {problem.answer}")
        return Verdict(accepted=True)
