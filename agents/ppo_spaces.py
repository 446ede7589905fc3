"""What a PPO teacher sees and does: the skill list's observation as one vector, and a vector of weights as
examples per skill. One definition for both sides of training, so a checkpoint trained on the surrogate reads
the real environment the same way.

- **Observation** (``PPOObservation`` then ``gymnasium.wrappers.FlattenObservation``): the skill list's dict with
  ``examples_trained`` as each skill's share of the examples trained so far (raw counts run to thousands,
  which a small network does not digest), flattened in gymnasium's order (``round`` one-hot).
- **Action** (``PPOAction``): ``Box(-1, 1, (skills,))``; each entry mapped to a weight in [0, 1] and the round's
  ``examples_per_round`` apportioned over the skills by weight (``teachenv.core.apportion``), each at most
  ``max_per_skill``. All weights 0 = an even split.

It imports gymnasium and numpy only (no torch, no Stable-Baselines3) and knows the skill list's spaces,
nothing of the student or the policy that uses it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import FlattenObservation

from teachenv.core.apportion import apportion

TRAINED = "examples_trained"


def trained_shares(counts: np.ndarray) -> np.ndarray:
    """Examples trained per skill as shares of all trained so far (zeros before any)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return (counts / total if total > 0 else np.zeros_like(counts)).astype(np.float32)


def counts_of(action: np.ndarray, examples_per_round: int, max_per_skill: int) -> np.ndarray:
    """A PPO action (one number per skill, clipped to [-1, 1]) as examples per skill for the round."""
    weights = (np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0) + 1.0) / 2.0
    return apportion(examples_per_round, weights, cap=max_per_skill).astype(np.int64)


class PPOObservation(gym.ObservationWrapper):
    """The skill list's observation with ``examples_trained`` as shares (see the module)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Dict) or TRAINED not in space.spaces:
            raise ValueError(f"PPOObservation reads the skill list's observation (a Dict with {TRAINED!r}), got {space}")
        n = space[TRAINED].shape
        self.observation_space = spaces.Dict({**space.spaces, TRAINED: spaces.Box(0.0, 1.0, shape=n, dtype=np.float32)})

    def observation(self, observation: dict[str, Any]) -> dict[str, Any]:
        return {**observation, TRAINED: trained_shares(observation[TRAINED])}


class PPOAction(gym.ActionWrapper):
    """Weights per skill in ``Box(-1, 1)`` → the round's examples per skill (see the module)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        inner = env.unwrapped
        self.examples_per_round, self.max_per_skill = int(inner.cap), int(inner.max_per_skill)
        self.action_space = spaces.Box(-1.0, 1.0, shape=env.action_space.shape, dtype=np.float32)

    def action(self, action: np.ndarray) -> np.ndarray:
        return counts_of(action, self.examples_per_round, self.max_per_skill)


def wrap(env: gym.Env) -> gym.Env:
    """``env`` (a skill list) as PPO trains on it: flat observation vector, weight actions."""
    return FlattenObservation(PPOObservation(PPOAction(env)))


def features(env: gym.Env, observation: dict[str, Any]) -> np.ndarray:
    """The flat vector ``wrap(env)`` would show for the skill list's ``observation`` (what the ``ppo`` policy
    feeds its network in any skill-list env, the real one included)."""
    shares = PPOObservation(env)
    return spaces.flatten(shares.observation_space, shares.observation(observation)).astype(np.float32)
