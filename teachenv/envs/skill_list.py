"""The skill-list environment (DataEnvGym's skill-list structure) as a ``gymnasium.Env``.

Observation: per-skill validation accuracy, examples trained per skill, the round and the share
of each budget left. Action: how many examples to generate per skill this round (replay of known
skills included), clipped to the per-round cap; or a ``DataGenerationAction`` record, which may
also carry ready-made examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from teachenv.core.errors import InvalidActionError
from teachenv.core.ledger import BUDGET_NAMES
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.envs.state import EnvState
from teachenv.envs.teaching_env import TeachingEnv

MAX_COUNT = 2**31 - 1


class SkillListEnv(TeachingEnv[dict[str, Any], np.ndarray | DataGenerationAction]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        n = len(self.skills)
        self.action_space = spaces.MultiDiscrete(np.full(n, self.max_per_skill + 1, dtype=np.int64))
        self.observation_space = spaces.Dict({
            "val_accuracy": spaces.Box(0.0, 1.0, shape=(n,), dtype=np.float32),
            "examples_trained": spaces.Box(0, MAX_COUNT, shape=(n,), dtype=np.int64),
            "round": spaces.Discrete(self.max_rounds + 1),
            "budget_left": spaces.Box(0.0, 1.0, shape=(len(BUDGET_NAMES),), dtype=np.float32),
        })

    def to_generation_action(self, action: Any) -> DataGenerationAction:
        if isinstance(action, DataGenerationAction):
            unknown = sorted({r.skill for r in action.requests} - set(self.skills))
            if unknown:
                raise InvalidActionError(f"Action requests unknown skills {unknown}; skills are {list(self.skills)}.")
            return action
        array = np.asarray(action)
        if array.shape != self.action_space.shape or not np.issubdtype(array.dtype, np.integer):
            raise InvalidActionError(
                f"Action must be an integer array of shape {self.action_space.shape} (examples per skill, in the "
                f"order {list(self.skills)}), got dtype {array.dtype} and shape {array.shape}."
            )
        if not self.action_space.contains(array.astype(np.int64)):
            raise InvalidActionError(
                f"Action {array.tolist()} is outside the action space: each count must be in "
                f"[0, {self.max_per_skill}] (env.max_per_skill)."
            )
        return DataGenerationAction(
            requests=tuple(SkillRequest(skill=s, count=int(c)) for s, c in zip(self.skills, array) if c > 0)
        )

    def observation(self, state: EnvState) -> dict[str, Any]:
        return {
            "val_accuracy": np.array([state.val_accuracy_by_skill[s] for s in self.skills], dtype=np.float32),
            "examples_trained": np.array([state.accepted_by_skill.get(s, 0) for s in self.skills], dtype=np.int64),
            "round": int(state.round),
            "budget_left": np.array([state.budget_left[n] for n in BUDGET_NAMES], dtype=np.float32),
        }
