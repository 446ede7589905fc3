"""The environment's state as typed records, with a text rendering for LLM policies.

``RoundState`` holds what every structure shows (round, overall accuracy, budget left); each
structure's state adds its own view: ``EnvState`` (skill list: per-skill accuracy), the open-ended
state (a sample of errors) and the skill-tree state (the subskill tree) live beside their
environments. The gymnasium observation holds the same numbers as arrays; agents may read either.

Two methods let one baseline policy act in every structure: ``skill_scores`` (how well the student
does per skill, as far as the structure shows it) and ``to_action`` (examples per skill expressed as
the structure's action). The states know nothing about how a round runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from teachenv.core.records import Record


class RoundState(Record):
    round: int
    max_rounds: int
    skills: tuple[str, ...]
    examples_per_round: int = Field(description="Cap on examples generated per round.")
    max_per_skill: int = Field(description="Largest count one skill (or subskill) may get in an array action.")
    val_accuracy: float
    budget_left: dict[str, float] = Field(description="Share of each budget left (1.0 = unlimited).")
    last_reward: float | None = None

    def skill_scores(self) -> dict[str, float]:
        """Per skill, higher = the student does better (what a weakest-skill policy ranks by)."""
        raise NotImplementedError(f"{type(self).__name__} shows no per-skill signal.")

    def to_action(self, counts: np.ndarray) -> Any:
        """Examples per skill (``skills`` order) as this structure's action."""
        raise NotImplementedError(f"{type(self).__name__} has no per-skill action.")

    def header_lines(self) -> list[str]:
        return [
            f"Round {self.round} of {self.max_rounds}; up to {self.examples_per_round} examples per round.",
            f"Mean validation accuracy: {self.val_accuracy:.3f}"
            + (f" (last reward {self.last_reward:+.3f})" if self.last_reward is not None else ""),
        ]

    def budget_line(self) -> list[str]:
        limited = {k: v for k, v in self.budget_left.items() if v < 1.0}
        return ["Budget left: " + ", ".join(f"{k} {v:.0%}" for k, v in limited.items())] if limited else []

    def to_text(self) -> str:
        return "\n".join([*self.header_lines(), *self.budget_line()])


class EnvState(RoundState):
    """The skill-list structure's state: per-skill validation accuracy and examples trained."""

    val_accuracy_by_skill: dict[str, float]
    accepted_by_skill: dict[str, int] = Field(description="Examples trained on so far, per skill.")

    def skill_scores(self) -> dict[str, float]:
        return dict(self.val_accuracy_by_skill)

    def to_action(self, counts: np.ndarray) -> np.ndarray:
        return np.asarray(counts, dtype=np.int64)

    def to_text(self) -> str:
        lines = [*self.header_lines(), "skill | val accuracy | examples trained"]
        for skill in self.skills:
            lines.append(f"{skill} | {self.val_accuracy_by_skill[skill]:.3f} | {self.accepted_by_skill.get(skill, 0)}")
        return "\n".join([*lines, *self.budget_line()])
