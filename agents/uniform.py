"""``uniform``: the same number of examples for every skill each round (the baseline to beat)."""

from __future__ import annotations

import numpy as np

from teachenv.agents.base import Policy, split_evenly
from teachenv.envs.state import RoundState


class UniformPolicy(Policy):
    name = "uniform"

    def allocate(self, state: RoundState) -> np.ndarray:
        return split_evenly(state.examples_per_round, len(state.skills))
