"""The environment's one cost ledger, and the budgets that end an episode.

Engines report tokens into the ledger; the environment records examples and wall seconds; agents
that do work of their own (a student's forward passes to score data, optimiser steps of a teacher)
count it by name (``add_work``). The ledger knows nothing about engines or models beyond their names
and a price table.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BudgetName = Literal["examples", "teacher_tokens", "dollars", "seconds"]
BUDGET_NAMES: tuple[BudgetName, ...] = ("examples", "teacher_tokens", "dollars", "seconds")


class TokenPrice(BaseModel):
    """Dollars per million tokens for one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    prompt: float = Field(0.0, ge=0, description="Dollars per 1M prompt tokens.")
    completion: float = Field(0.0, ge=0, description="Dollars per 1M completion tokens.")


class BudgetConfig(BaseModel):
    """Per-episode limits; running out of any one truncates the episode. ``None`` = unlimited."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    examples: int | None = Field(None, ge=1, description="Generated examples (accepted or not).")
    teacher_tokens: int | None = Field(None, ge=1, description="Prompt + completion tokens of teacher roles.")
    dollars: float | None = Field(None, gt=0, description="Dollars, from the price table.")
    seconds: float | None = Field(
        None, gt=0, description="Wall seconds of the episode; the only non-deterministic budget."
    )


class TokenUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: int = 0
    completion: int = 0
    calls: int = 0


class CostSnapshot(BaseModel):
    """The ledger's totals at one point, as written to the run log."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    examples_generated: int
    examples_accepted: int
    tokens: dict[str, TokenUsage]
    teacher_tokens: int
    dollars: float
    #: Agents' own work by name (e.g. ``student_forward_passes``, ``teacher_dpo_steps``); empty for most agents.
    work: dict[str, float] = {}


class CostDelta(BaseModel):
    """What the ledger counted between two points (``CostLedger.mark`` and ``since``), so that work
    read back instead of redone (a resumed run's replayed rounds) is still counted (``apply``)."""

    model_config = ConfigDict(extra="forbid")
    tokens: dict[str, TokenUsage] = {}
    dollars: float = 0.0
    work: dict[str, float] = {}


# Roles whose tokens count against the teacher-token budget (the student's evaluation does not).
TEACHER_ROLES = frozenset({"teacher", "policy", "data-engine", "verifier", "subskills", "skill-discovery"})


class CostLedger:
    """Counts examples, tokens by role, dollars and (separately) wall seconds for one episode."""

    def __init__(self, budget: BudgetConfig | None = None, prices: dict[str, TokenPrice] | None = None) -> None:
        self.budget = budget or BudgetConfig()
        self.prices = dict(prices or {})
        self.reset()

    def reset(self) -> None:
        self.examples_generated = 0
        self.examples_accepted = 0
        self.tokens: dict[str, TokenUsage] = {}
        self.dollars = 0.0
        self.seconds = 0.0
        self.work: dict[str, float] = {}

    # -- reporting -------------------------------------------------------------------------
    def add_tokens(self, role: str, model: str, prompt: int, completion: int, calls: int = 1) -> None:
        """Engines call this for every batch they generate."""
        usage = self.tokens.setdefault(role, TokenUsage())
        usage.prompt += prompt
        usage.completion += completion
        usage.calls += calls
        price = self.prices.get(model)
        if price is not None:
            self.dollars += (prompt * price.prompt + completion * price.completion) / 1e6

    def add_work(self, name: str, amount: float = 1) -> None:
        """An agent's own work (``name``: what was done, e.g. ``student_forward_passes``)."""
        self.work[name] = self.work.get(name, 0) + amount

    def mark(self) -> CostDelta:
        """The totals now, to pass to ``since`` later."""
        return CostDelta(tokens={k: v.model_copy() for k, v in self.tokens.items()}, dollars=self.dollars,
                         work=dict(self.work))

    def since(self, mark: CostDelta) -> CostDelta:
        """What was counted after ``mark`` (tokens, dollars and work; not examples or seconds)."""
        tokens = {}
        for role, usage in self.tokens.items():
            before = mark.tokens.get(role, TokenUsage())
            delta = TokenUsage(prompt=usage.prompt - before.prompt, completion=usage.completion - before.completion,
                               calls=usage.calls - before.calls)
            if delta != TokenUsage():
                tokens[role] = delta
        work = {k: v - mark.work.get(k, 0) for k, v in self.work.items() if v != mark.work.get(k, 0)}
        return CostDelta(tokens=tokens, dollars=self.dollars - mark.dollars, work=work)

    def apply(self, delta: CostDelta) -> None:
        """Count ``delta`` again (work read back rather than redone)."""
        for role, usage in delta.tokens.items():
            total = self.tokens.setdefault(role, TokenUsage())
            total.prompt += usage.prompt
            total.completion += usage.completion
            total.calls += usage.calls
        self.dollars += delta.dollars
        for name, amount in delta.work.items():
            self.add_work(name, amount)

    def add_examples(self, generated: int, accepted: int) -> None:
        self.examples_generated += generated
        self.examples_accepted += accepted

    def add_seconds(self, seconds: float) -> None:
        self.seconds += seconds

    # -- budgets ---------------------------------------------------------------------------
    @property
    def teacher_tokens(self) -> int:
        return sum(u.prompt + u.completion for role, u in self.tokens.items() if role in TEACHER_ROLES)

    def used(self, name: BudgetName) -> float:
        return {
            "examples": self.examples_generated,
            "teacher_tokens": self.teacher_tokens,
            "dollars": self.dollars,
            "seconds": self.seconds,
        }[name]

    def remaining_examples(self) -> int | None:
        limit = self.budget.examples
        return None if limit is None else max(0, limit - self.examples_generated)

    def fraction_left(self, name: BudgetName) -> float:
        """1.0 for an unlimited budget, else the share left in [0, 1]."""
        limit = getattr(self.budget, name)
        if limit is None:
            return 1.0
        return max(0.0, 1.0 - self.used(name) / limit)

    def exhausted(self, *, include_wall_clock: bool = True) -> list[BudgetName]:
        """The budgets that are used up (used ≥ limit), in a fixed order."""
        names = BUDGET_NAMES if include_wall_clock else BUDGET_NAMES[:-1]
        return [n for n in names if getattr(self.budget, n) is not None and self.used(n) >= getattr(self.budget, n)]

    def snapshot(self) -> CostSnapshot:
        return CostSnapshot(
            examples_generated=self.examples_generated,
            examples_accepted=self.examples_accepted,
            tokens={k: v.model_copy() for k, v in sorted(self.tokens.items())},
            teacher_tokens=self.teacher_tokens,
            dollars=round(self.dollars, 8),
            work={k: round(v, 6) for k, v in sorted(self.work.items())},
        )
