"""``teachenv/SurrogateSkillList-v0``: the arithmetic skill list with the surrogate student in place of the network.

The structure, spaces, state, data engine, verification and records are the real skill list's; only the
student is ``teachenv.student.surrogate.SurrogateStudent`` (a fitted learning-dynamics model), so a round
takes milliseconds instead of minutes and a teacher policy can be trained by reinforcement learning on it.
What it predicts is only as good as its fit: see ``scripts/fit_surrogate.py`` and the README.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from teachenv.core.config import RunConfig, validate_config
from teachenv.envs.defaults import world_defaults
from teachenv.envs.skill_list import SkillListEnv

ENV_ID = "teachenv/SurrogateSkillList-v0"


def surrogate_config(**overrides: Any) -> RunConfig:
    """The arithmetic world's teaching default with ``student.model: surrogate`` (and ``overrides`` on top)."""
    data = copy.deepcopy(world_defaults("arith"))
    data["name"] = "surrogate-arith"
    data.setdefault("student", {})["model"] = "surrogate"
    data.update(overrides)
    return validate_config(data)


class SurrogateSkillListEnv(SkillListEnv):
    def __init__(self, config: RunConfig | dict | str | Path | None = None, *, plumbing: bool = False,
                 world: str = "arith", **kwargs: Any) -> None:
        # ``plumbing`` asks for a cheap student: the surrogate is one already.
        super().__init__(config if config is not None else surrogate_config(), world=world, **kwargs)
