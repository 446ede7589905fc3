"""The skill-tree structure's records: subskills, the tree, its state, and the typed action.

Per top-level skill a list of at most ``max_subskills`` subskills (the slots of the fixed-size
gymnasium spaces), each with its data allocation (examples per round), the examples trained on it
so far and the student's validation accuracy on it (None where no validation item belongs to it,
e.g. a subskill an LLM proposed for a task without such labels). The typed action holds one
``SkillDecision`` per skill: explore (add k new subskills, each with an allocation) or exploit
(change the allocation of existing ones). These records know nothing about how subskills are found.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from teachenv.core.records import Record
from teachenv.envs.state import EnvState


class Subskill(Record):
    name: str
    params: dict[str, int | float | str | bool] = Field(description="What the engine is asked for (generator "
                                                                     "parameters, or an LLM subskill's name).")
    allocation: int = Field(0, ge=0, description="Examples asked for it each round.")
    examples: int = Field(0, ge=0, description="Examples trained on so far.")
    val_items: int = Field(0, ge=0, description="Validation items that belong to it.")
    val_accuracy: float | None = None

    def matches(self, params: dict) -> bool:
        """Whether an example with ``params`` belongs to this subskill."""
        return all(params.get(k) == v for k, v in self.params.items())


class SkillNode(Record):
    skill: str
    val_accuracy: float
    subskills: tuple[Subskill, ...] = ()
    unexplored: int = Field(0, ge=0, description="How many more subskills explore can still add.")


class SkillDecision(Record):
    """One skill's move: ``explore`` > 0 adds that many new subskills, each given ``explore_allocation``
    examples per round; ``allocation`` sets the allocation of existing subskills by name (others keep theirs)."""

    explore: int = Field(0, ge=0)
    explore_allocation: int = Field(0, ge=0)
    allocation: dict[str, int] = Field(default_factory=dict)


class SkillTreeAction(Record):
    decisions: dict[str, SkillDecision] = Field(default_factory=dict, description="Skills not named are unchanged.")


class SkillTreeState(EnvState):
    tree: tuple[SkillNode, ...]
    max_subskills: int

    def node(self, skill: str) -> SkillNode:
        return next(n for n in self.tree if n.skill == skill)

    def to_action(self, counts: np.ndarray) -> SkillTreeAction:
        """A skill's count spread evenly over its subskills; a skill without one explores its first."""
        decisions = {}
        for skill, count in zip(self.skills, counts):
            node = self.node(skill)
            count = int(count)
            if not node.subskills:
                if node.unexplored and count:
                    decisions[skill] = SkillDecision(explore=1, explore_allocation=min(count, self.max_per_skill))
                continue
            n = len(node.subskills)
            shares = [count // n + (1 if i < count % n else 0) for i in range(n)]
            decisions[skill] = SkillDecision(allocation={s.name: min(c, self.max_per_skill)
                                                         for s, c in zip(node.subskills, shares)})
        return SkillTreeAction(decisions=decisions)

    def to_text(self) -> str:
        lines = [*self.header_lines(), f"Each skill holds at most {self.max_subskills} subskills.",
                 "skill | val accuracy | examples trained | subskills"]
        for node in self.tree:
            lines.append(f"{node.skill} | {node.val_accuracy:.3f} | {self.accepted_by_skill.get(node.skill, 0)} | "
                         f"{len(node.subskills)} (can explore {node.unexplored} more)")
            for sub in node.subskills:
                accuracy = f"{sub.val_accuracy:.3f} on {sub.val_items}" if sub.val_accuracy is not None else "unknown"
                lines.append(f"  - {sub.name} | val {accuracy} | allocation {sub.allocation} | examples {sub.examples}")
        return "\n".join([*lines, *self.budget_line()])
