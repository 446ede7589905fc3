"""``learning-progress``: an EXP3 bandit over skills rewarded by absolute learning progress.

The policy learns, across the rounds of an episode, which skills the student is currently learning
(or forgetting) fastest, and gives those skills more of the round: teacher-student curriculum
learning (Matiisen et al. 2017) and ALP-GMM (Portelas et al. 2019) teach by the same signal. It
learns from one number per skill, ``state.skill_scores()``: the reward of a skill that got examples
in the previous decision is its absolute learning progress ``|score now - score then|``, so it acts
in every structure. EXP3 (Auer et al. 2002) turns the rewards into sampling probabilities
``p = (1 - gamma) * w / sum(w) + gamma / n`` and each round's counts are a multinomial draw of the
round's examples from ``p``; after a round, ``w_i *= exp(gamma * r_i / p_i / n)`` for each fed skill.

By default each progress is divided by the largest progress seen so far in the episode (Graves et
al. 2017 rescale their rewards likewise): accuracy moves a few points a round, and with the raw
reward EXP3 would need tens of rounds to prefer a skill, more than an episode has.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.agents.base import Policy
from teachenv.envs.state import RoundState


class LearningProgressConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    gamma: float = Field(0.3, gt=0, le=1, description="EXP3's exploration share: the part of each round drawn "
                                                       "uniformly over the skills, and the learning rate.")
    normalize: bool = Field(True, description="Divide each progress by the largest seen this episode "
                                              "(False: the raw |change in score|, clipped to [0, 1]).")


class LearningProgressPolicy(Policy):
    """Learns per-skill weights from the change in each fed skill's score between its decisions;
    ``reset`` forgets them (each episode starts uniform)."""

    name = "learning-progress"
    Config = LearningProgressConfig

    def __init__(self, config: LearningProgressConfig | None = None) -> None:
        super().__init__(config or LearningProgressConfig())
        self._forget()

    def _forget(self) -> None:
        self._skills: tuple[str, ...] = ()
        self._weights = np.ones(0)
        self._p = np.ones(0)  # the probabilities of the last decision
        self._scores = np.ones(0)  # the scores the last decision saw
        self._fed = np.zeros(0, dtype=bool)  # the skills the last decision gave examples
        self._largest = 0.0  # the largest progress seen (for ``normalize``)

    def reset(self, seed: int) -> None:
        super().reset(seed)
        self._forget()

    @property
    def probabilities(self) -> Mapping[str, float]:
        """Per skill, the probability the last decision drew its examples with (empty before the first)."""
        return MappingProxyType({s: float(p) for s, p in zip(self._skills, self._p)})

    def allocate(self, state: RoundState) -> np.ndarray:
        scores = state.skill_scores()
        now = np.array([scores[s] for s in state.skills], dtype=np.float64)
        if state.skills != self._skills:  # a first decision (or skills of another task): start uniform
            self._forget()
            self._skills, self._weights = state.skills, np.ones(len(state.skills))
        else:
            self._learn(now)
        config: LearningProgressConfig = self.config  # type: ignore[assignment]
        n = len(self._skills)
        self._p = (1 - config.gamma) * self._weights / self._weights.sum() + config.gamma / n
        counts = self.rng.multinomial(state.examples_per_round, self._p).astype(np.int64)
        self._scores, self._fed = now, counts > 0
        return counts

    def _learn(self, now: np.ndarray) -> None:
        """EXP3's update from the progress of the skills the last decision fed."""
        config: LearningProgressConfig = self.config  # type: ignore[assignment]
        progress = np.where(self._fed, np.abs(now - self._scores), 0.0)
        if config.normalize:
            self._largest = max(self._largest, float(progress.max()))
            progress = progress / self._largest if self._largest > 0 else progress
        reward = np.clip(progress, 0.0, 1.0)
        self._weights = self._weights * np.exp(config.gamma * reward / self._p / len(self._skills))
        self._weights /= self._weights.max()  # only the ratios matter; this keeps them finite
