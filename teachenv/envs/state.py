"""The environment's state as a typed record, with a text rendering for LLM policies.

The gymnasium observation holds the same numbers as arrays; agents may read either.
"""

from __future__ import annotations

from pydantic import Field

from teachenv.core.records import Record


class EnvState(Record):
    round: int
    max_rounds: int
    skills: tuple[str, ...]
    examples_per_round: int = Field(description="Cap on examples generated per round.")
    max_per_skill: int = Field(description="Largest count one skill may get in an array action.")
    val_accuracy: float
    val_accuracy_by_skill: dict[str, float]
    accepted_by_skill: dict[str, int] = Field(description="Examples trained on so far, per skill.")
    budget_left: dict[str, float] = Field(description="Share of each budget left (1.0 = unlimited).")
    last_reward: float | None = None

    def to_text(self) -> str:
        lines = [
            f"Round {self.round} of {self.max_rounds}; up to {self.examples_per_round} examples per round.",
            f"Mean validation accuracy: {self.val_accuracy:.3f}"
            + (f" (last reward {self.last_reward:+.3f})" if self.last_reward is not None else ""),
            "skill | val accuracy | examples trained",
        ]
        for skill in self.skills:
            lines.append(f"{skill} | {self.val_accuracy_by_skill[skill]:.3f} | {self.accepted_by_skill.get(skill, 0)}")
        limited = {k: v for k, v in self.budget_left.items() if v < 1.0}
        if limited:
            lines.append("Budget left: " + ", ".join(f"{k} {v:.0%}" for k, v in limited.items()))
        return "\n".join(lines)
