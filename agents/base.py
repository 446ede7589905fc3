"""The policy interface: the teacher's decision (state → action), for every environment structure.

A policy reads the typed state (``info["state"]``: the same numbers as the gymnasium observation)
and returns an action. Baselines written as "examples per skill" (``allocate`` returning an array)
act in every structure: the state turns the counts into its structure's action
(``RoundState.to_action``: the array itself, a plan, or tree decisions) and ranks skills with
``RoundState.skill_scores``. A policy does not generate data: the agent's engine does, inside the
environment.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel

from teachenv.core import registry
from teachenv.core.config import ComponentSpec, component_options
from teachenv.envs.state import RoundState


class Policy(ABC):
    name: ClassVar[str]
    Config: ClassVar[type[BaseModel] | None] = None

    def __init__(self, config: BaseModel | None = None) -> None:
        self.config = config
        self.rng = np.random.default_rng(0)

    def attach(self, env: Any) -> None:
        """Called once with the (unwrapped) environment before the first ``reset``. Policies that
        call a model take the env's ``teacher`` backend and ``ledger`` here, so their tokens are
        charged to the episode; policies that keep memory across rounds or artefacts per round put them
        in ``env.workspace`` (``teachenv.envs.agent_workspace``), which gives them back on resume; the
        others need nothing."""

    def reset(self, seed: int) -> None:
        """Called with the episode's seed before the first ``act``."""
        self.rng = np.random.default_rng(seed)

    def act(self, state: RoundState) -> Any:
        """The action for ``state``: ``allocate``'s counts (each clipped to the action space's bound) as the
        structure's action, or ``allocate``'s own action."""
        action = self.allocate(state)
        if isinstance(action, np.ndarray):
            action = state.to_action(np.minimum(action, state.max_per_skill).astype(np.int64))
        return action

    @abstractmethod
    def allocate(self, state: RoundState) -> np.ndarray | Any:
        """Examples to generate per skill (``state.skills`` order), or an action of the state's structure."""


def build_policy(spec: ComponentSpec) -> Policy:
    """The policy a config's ``agent.policy`` names, with its validated options."""
    policy_cls = registry.policies.get(spec.name)
    return policy_cls(component_options(spec, policy_cls))


def split_evenly(total: int, n: int) -> np.ndarray:
    """``total`` split over ``n`` slots as evenly as integers allow (earlier slots get the rest)."""
    counts = np.full(n, total // n, dtype=np.int64)
    counts[: total % n] += 1
    return counts
