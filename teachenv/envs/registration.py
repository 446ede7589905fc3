"""Registers teachenv's environments with gymnasium under versioned ``teachenv/...`` ids.

Every structure (skill list, open-ended, skill tree) × every task that builds offline (the arith
and shapes worlds) is registered; ``teachenv/<Structure>-v0`` is the arithmetic world and
``teachenv/<Structure>-Shapes-v0`` the shapes world. Real tasks (GSM8K, MATH, code, VQA datasets)
need a data source, so they run through a config that names a structure's id and the task.
Entry points are lazy ``"module:Class"`` strings, so registering imports nothing heavy. An id whose
default is not the arithmetic world's is registered with its own cheap default config (a ``config``
given to ``gymnasium.make`` replaces it).
"""

from __future__ import annotations

from typing import Any

import gymnasium

from teachenv.envs.defaults import CHEAP_SHAPES_DEFAULTS

#: Structure name in the id → entry point.
STRUCTURES: dict[str, str] = {
    "SkillList": "teachenv.envs.skill_list:SkillListEnv",
    "OpenEnded": "teachenv.envs.open_ended:OpenEndedEnv",
    "SkillTree": "teachenv.envs.skill_tree:SkillTreeEnv",
}
#: Id suffix of each offline world → its cheap default (None: the arithmetic world's, the config default).
WORLDS: dict[str, dict[str, Any] | None] = {"": None, "-Shapes": CHEAP_SHAPES_DEFAULTS}

#: id → (entry point, default config or None for the arithmetic world's cheap default).
ENVIRONMENTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    f"teachenv/{structure}{world}-v0": (entry, default)
    for structure, entry in STRUCTURES.items() for world, default in WORLDS.items()
}
ENV_IDS: dict[str, str] = {env_id: entry for env_id, (entry, _) in ENVIRONMENTS.items()}


def register_envs() -> None:
    for env_id, (entry_point, default) in ENVIRONMENTS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point,
                               kwargs={"config": default} if default is not None else {})
