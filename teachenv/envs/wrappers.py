"""Wrappers for agents that read text: ``TextObservation`` makes the observation the rendering of the
environment's typed state (``info["state"].to_text()``), the same text the LLM policy reads, in a
gymnasium ``Text`` space. For numeric agents use ``gymnasium.wrappers.FlattenObservation`` on any
teachenv environment. It knows the state's interface, not any structure.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium import spaces

from teachenv.envs.teaching_env import INFO_STATE
from teachenv.envs.text_space import PRINTABLE, printable

#: Default length of the rendered state (a skill tree of 5 skills × 4 subskills takes ~1,500 characters).
MAX_CHARS = 16_000


class TextObservation(gym.Wrapper):
    def __init__(self, env: gym.Env, max_chars: int = MAX_CHARS) -> None:
        super().__init__(env)
        self.max_chars = max_chars
        self.observation_space = spaces.Text(max_length=max_chars, min_length=0, charset=PRINTABLE)

    def _text(self, info: dict[str, Any]) -> str:
        return printable(info[INFO_STATE].to_text(), self.max_chars)

    def reset(self, **kwargs: Any):
        _, info = self.env.reset(**kwargs)
        return self._text(info), info

    def step(self, action: Any):
        _, reward, terminated, truncated, info = self.env.step(action)
        return self._text(info), reward, terminated, truncated, info
