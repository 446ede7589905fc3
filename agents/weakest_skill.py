"""``weakest-skill``: most examples for the skills the student does worst on (lowest validation
accuracy; in the open-ended structure, the most errors in the sample shown), and a
replay share spread over the others so that what the student knows is not forgotten
(without replay the other skills of the tiny student collapse to ~0.1 in one round)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.agents.base import Policy, split_evenly
from teachenv.envs.state import RoundState


class WeakestSkillConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    focus: int = Field(2, ge=1, description="How many of the weakest skills share the non-replay examples.")
    replay_share: float = Field(0.5, ge=0, le=1, description="Share of each round's examples for the other skills.")


class WeakestSkillPolicy(Policy):
    name = "weakest-skill"
    Config = WeakestSkillConfig

    def __init__(self, config: WeakestSkillConfig | None = None) -> None:
        super().__init__(config or WeakestSkillConfig())

    def allocate(self, state: RoundState) -> np.ndarray:
        config: WeakestSkillConfig = self.config  # type: ignore[assignment]
        n, total = len(state.skills), state.examples_per_round
        # Ties go to the earlier skill, so the choice is deterministic.
        scores = state.skill_scores()
        order = sorted(range(n), key=lambda i: (scores[state.skills[i]], i))
        focus = order[: min(config.focus, n)]
        others = order[len(focus):]
        replay = int(round(total * config.replay_share)) if others else 0
        counts = np.zeros(n, dtype=np.int64)
        counts[focus] = split_evenly(total - replay, len(focus))
        if others:
            counts[others] = split_evenly(replay, len(others))
        return counts
