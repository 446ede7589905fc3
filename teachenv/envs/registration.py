"""Registers teachenv's environments with gymnasium under versioned ``teachenv/...`` ids.

Entry points are lazy ``"module:Class"`` strings, so registering imports nothing heavy.
"""

from __future__ import annotations

import gymnasium

ENV_IDS: dict[str, str] = {
    "teachenv/SkillList-v0": "teachenv.envs.skill_list:SkillListEnv",
}


def register_envs() -> None:
    for env_id, entry_point in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point)
