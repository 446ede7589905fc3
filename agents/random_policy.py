"""``random``: a random split of the round's examples over the skills (seeded by the episode)."""

from __future__ import annotations

import numpy as np

from teachenv.agents.base import Policy
from teachenv.envs.state import RoundState


class RandomPolicy(Policy):
    name = "random"

    def allocate(self, state: RoundState) -> np.ndarray:
        shares = self.rng.dirichlet(np.ones(len(state.skills)))
        return self.rng.multinomial(state.examples_per_round, shares).astype(np.int64)
