"""Registers teachenv's environments with gymnasium under versioned ``teachenv/...`` ids.

Every structure (skill list, open-ended, skill tree) × every offline world (``teachenv.tasks.WORLDS``)
is registered as ``teachenv/<Structure><suffix>-v0``, the suffix being the world's
``WorldTask.env_suffix`` (``""`` for arith, ``"-Shapes"`` for shapes). Real tasks (GSM8K, MATH, code,
VQA datasets) need a data source, so they run through a config that names a structure's id and the
task. Environment entry points are lazy ``"module:Class"`` strings and the worlds' modules import
nothing heavy. An id whose default is not the arithmetic world's is registered with its own cheap
default config (a ``config`` given to ``gymnasium.make`` replaces it).
"""

from __future__ import annotations

from typing import Any

import gymnasium

from teachenv.core import registry
from teachenv.envs.defaults import cheap_world_defaults
from teachenv.tasks import WORLDS as WORLD_TASKS

#: Structure name in the id → entry point.
STRUCTURES: dict[str, str] = {
    "SkillList": "teachenv.envs.skill_list:SkillListEnv",
    "OpenEnded": "teachenv.envs.open_ended:OpenEndedEnv",
    "SkillTree": "teachenv.envs.skill_tree:SkillTreeEnv",
}


def world_environments(task_cls: type[Any]) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """A world's ids: id → (entry point, default config or None for the arithmetic world's cheap default)."""
    suffix = task_cls.env_suffix
    if suffix is None:
        raise ValueError(f"task {task_cls.name!r} has no env_suffix: set one to register gymnasium ids for it.")
    default = cheap_world_defaults(task_cls.name, task_cls.modality)
    return {f"teachenv/{structure}{suffix}-v0": (entry, default) for structure, entry in STRUCTURES.items()}


#: id → (entry point, default config or None for the arithmetic world's cheap default).
ENVIRONMENTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    env_id: spec for name in WORLD_TASKS for env_id, spec in world_environments(registry.tasks.get(name)).items()
}
ENV_IDS: dict[str, str] = {env_id: entry for env_id, (entry, _) in ENVIRONMENTS.items()}


def register_world(task_cls: type[Any]) -> list[str]:
    """Register a world's ids with gymnasium (and in ``ENVIRONMENTS``); returns them."""
    environments = world_environments(task_cls)
    ENVIRONMENTS.update(environments)
    ENV_IDS.update({env_id: entry for env_id, (entry, _) in environments.items()})
    for env_id, (entry_point, default) in environments.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point,
                               kwargs={"config": default} if default is not None else {})
    return list(environments)


def register_envs() -> None:
    for env_id, (entry_point, default) in ENVIRONMENTS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point,
                               kwargs={"config": default} if default is not None else {})
