"""Where the skill tree's new subskills come from when a teacher explores.

- ``GeneratorSubskills``: a generated world's own parameter settings (``GeneratedTask.subskill_params``:
  arith's carries / borrows / multiplier ..., shapes' number of objects), picked in a seeded order.
- ``LLMSubskills``: for tasks without a generator, the agent's teacher model proposes named subskills
  through the engine interface (its calls go through the response cache like every teacher call).

It knows the task and backend interfaces, not the environment.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.engines.base import GenerationRequest, TextBackend
from teachenv.engines.json_reply import ask_json
from teachenv.envs.skill_tree_state import Subskill
from teachenv.tasks.base import GeneratedTask, Task

ROLE = "subskills"
SYSTEM = "You organise what a small language model must learn into skills and subskills. Answer with JSON only."


class SubskillProposer(ABC):
    @abstractmethod
    def available(self, skill: str, existing: Sequence[Subskill]) -> int | None:
        """How many more subskills ``propose`` can add (None: no fixed limit)."""

    @abstractmethod
    def propose(self, proposals: dict[str, tuple[Sequence[Subskill], int]],
                rng: np.random.Generator) -> dict[str, list[Subskill]]:
        """New subskills per skill: ``proposals`` maps a skill to (its subskills, how many to add)."""


class GeneratorSubskills(SubskillProposer):
    def __init__(self, task: GeneratedTask) -> None:
        self.task = task
        self.settings = {skill: task.subskill_params(skill) for skill in task.skills}

    def _unused(self, skill: str, existing: Sequence[Subskill]) -> list[dict]:
        taken = [s.params for s in existing]
        return [p for p in self.settings[skill] if p not in taken]

    def available(self, skill: str, existing: Sequence[Subskill]) -> int:
        return len(self._unused(skill, existing))

    def propose(self, proposals: dict[str, tuple[Sequence[Subskill], int]],
                rng: np.random.Generator) -> dict[str, list[Subskill]]:
        new = {}
        for skill, (existing, k) in proposals.items():
            unused = self._unused(skill, existing)
            picked = sorted(rng.choice(len(unused), size=min(k, len(unused)), replace=False)) if unused else []
            new[skill] = [Subskill(name=subskill_name(skill, unused[i]), params=unused[i]) for i in picked]
        return new


class ProposedSubskill(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    description: str = ""


class SubskillsReply(BaseModel):
    subskills: list[ProposedSubskill]


class LLMSubskills(SubskillProposer):
    def __init__(self, task: Task, teacher: TextBackend, ledger: CostLedger | None, max_repairs: int = 1) -> None:
        self.task, self.teacher, self.ledger, self.max_repairs = task, teacher, ledger, max_repairs

    def available(self, skill: str, existing: Sequence[Subskill]) -> None:
        return None

    def propose(self, proposals: dict[str, tuple[Sequence[Subskill], int]],
                rng: np.random.Generator) -> dict[str, list[Subskill]]:
        asked = [(skill, existing, k) for skill, (existing, k) in proposals.items() if k > 0]
        requests = [self._request(skill, existing, k, int(rng.integers(0, 2**31 - 1))) for skill, existing, k in asked]
        replies = ask_json(self.teacher, self.ledger, ROLE, requests, SubskillsReply,
                           max_repairs=self.max_repairs) if requests else []
        new: dict[str, list[Subskill]] = {skill: [] for skill in proposals}
        for (skill, existing, k), reply in zip(asked, replies, strict=True):
            if reply.value is None:
                continue  # nothing usable: the skill explores nothing this round
            taken = {s.name for s in existing}
            for item in reply.value.subskills:
                name = f"{skill}/{' '.join(item.name.split())}"
                if name not in taken and len(new[skill]) < k:
                    taken.add(name)
                    params = {"subskill": item.name.strip(), **({"description": item.description} if item.description else {})}
                    new[skill].append(Subskill(name=name, params=params))
        return new

    def _request(self, skill: str, existing: Sequence[Subskill], k: int, seed: int) -> GenerationRequest:
        lines = [f"Propose {k} new subskills of one skill of the task '{self.task.name}': narrower kinds of "
                 "question a student may get wrong separately.",
                 f"Skill: {skill}", f"What it covers: {self.task.describe_skill(skill)}",
                 f"Number of subskills: {k}"]
        if existing:
            lines.append("Subskills it already has (propose different ones):")
            lines.extend(f"- {s.params.get('subskill', s.name)}" for s in existing)
        lines.append('Reply with a JSON object {"subskills": [{"name": "<a few words>", "description": "<one '
                     'sentence>"}, ...]}.')
        return GenerationRequest(prompt="\n".join(lines), system=SYSTEM, json_schema=SubskillsReply.model_json_schema(),
                                 schema_name="subskills", temperature=0.7, max_new_tokens=1024, seed=seed)


def subskill_name(skill: str, params: dict) -> str:
    """``add-carry/carries=2``: the skill and its parameter setting."""
    return f"{skill}/" + ",".join(f"{k}={v}" for k, v in params.items())


def build_proposer(task: Task, teacher: TextBackend | None, ledger: CostLedger | None) -> SubskillProposer:
    """The world's generator where it splits skills into subskills, else the agent's teacher model."""
    if isinstance(task, GeneratedTask) and any(task.subskill_keys(s) for s in task.skills):
        return GeneratorSubskills(task)
    if teacher is None:
        raise ConfigError(f"The skill-tree environment needs subskills for task {task.name!r}, which has no generator "
                          "that makes them: set agent.teacher (a model that proposes subskills).")
    return LLMSubskills(task, teacher, ledger)
