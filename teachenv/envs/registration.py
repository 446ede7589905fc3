"""Registers teachenv's environments with gymnasium under versioned ``teachenv/...`` ids.

Entry points are lazy ``"module:Class"`` strings, so registering imports nothing heavy. An id whose
default is not the arithmetic world's is registered with its own cheap default config (a ``config``
given to ``gymnasium.make`` replaces it).
"""

from __future__ import annotations

from typing import Any

import gymnasium

from teachenv.envs.defaults import CHEAP_SHAPES_DEFAULTS

_SKILL_LIST = "teachenv.envs.skill_list:SkillListEnv"

#: id → (entry point, default config or None for the arithmetic world's cheap default).
ENVIRONMENTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "teachenv/SkillList-v0": (_SKILL_LIST, None),
    "teachenv/SkillList-Shapes-v0": (_SKILL_LIST, CHEAP_SHAPES_DEFAULTS),
}
ENV_IDS: dict[str, str] = {env_id: entry for env_id, (entry, _) in ENVIRONMENTS.items()}


def register_envs() -> None:
    for env_id, (entry_point, default) in ENVIRONMENTS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point,
                               kwargs={"config": default} if default is not None else {})
