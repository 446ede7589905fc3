"""``DataEngine``: a teacher's data-generation engine, the interface the environment composes: a
``DataGenerationAction`` in, candidate ``TrainingExample``s out (``EngineOutput``).

An engine reports the tokens it spends into the environment's ledger. It does not verify: the
environment verifies every candidate through the task. The engines themselves are agents'
components (``teachenv.agents``: the procedural engine of generated worlds, the LLM engine); this
module knows the task and text-backend interfaces, no engine in particular.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, NamedTuple

import numpy as np
from pydantic import BaseModel

from teachenv.core.ledger import CostLedger
from teachenv.core.plan import parse_plan
from teachenv.core.records import DataGenerationAction, RejectedExample, SkillRequest, TrainingExample
from teachenv.engines.base import TextBackend
from teachenv.tasks.base import Task


class EngineOutput(NamedTuple):
    """What an engine made of one action: candidates to verify, and what it could not use itself
    (a reply that was not JSON, a failed call, samples that disagree), kept with its reason."""

    candidates: list[TrainingExample]
    rejected: list[RejectedExample] = []


class DataEngine(ABC):
    """A teacher's data-generation engine; built by the environment with the task, the ledger and
    the agent's teacher backend (``agent.teacher``; None for engines that need no model)."""

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel] | None] = None

    def __init__(self, task: Task, ledger: CostLedger, config: Any = None, *,
                 teacher: TextBackend | None = None) -> None:
        self.task = task
        self.ledger = ledger
        self.config = config
        self.teacher = teacher

    def attach(self, env: Any) -> None:
        """Called once by the environment that owns the engine, before the first ``reset``. Engines that
        learn from the student take ``env.student`` here, and keep their per-round artefacts and memos in
        ``env.workspace`` (``teachenv.envs.agent_workspace``: what makes their state come back on resume);
        the others need nothing."""

    def reset(self) -> None:
        """Called by the environment's ``reset``: forget everything about the previous episode."""

    def read_plan(self, plan: str) -> tuple[SkillRequest, ...]:
        """The requests a free-form plan stands for, or ``PlanError`` saying why this engine cannot use it.
        Default: the plan grammar of ``teachenv.core.plan`` over the task's skills."""
        return parse_plan(plan, self.task.skills).requests

    @abstractmethod
    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        """Candidate examples for ``action.requests`` (ready-made ``action.examples`` are not its job)."""
