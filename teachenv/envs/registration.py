"""Registers teachenv's environments with gymnasium under versioned ``teachenv/...`` ids.

Every structure (skill list, open-ended, skill tree) × every offline world (``teachenv.tasks.WORLDS``)
is registered as ``teachenv/<Structure><suffix>-v0``, the suffix being the world's
``WorldTask.env_suffix`` (``""`` for arith, ``"-Shapes"`` for shapes). Real tasks (GSM8K, MATH, code,
VQA datasets) need a data source, so they run through a config that names a structure's id and the
task. Environment entry points are lazy ``"module:Class"`` strings and the worlds' modules import
nothing heavy. Without a ``config``, an id builds its world's teaching default
(``gymnasium.make(id, plumbing=True)``: the untrained plumbing config; see ``envs.defaults``).
"""

from __future__ import annotations

from typing import Any

import gymnasium

from teachenv.core import registry
from teachenv.tasks import WORLDS as WORLD_TASKS

#: Structure name in the id → entry point.
STRUCTURES: dict[str, str] = {
    "SkillList": "teachenv.envs.skill_list:SkillListEnv",
    "OpenEnded": "teachenv.envs.open_ended:OpenEndedEnv",
    "SkillTree": "teachenv.envs.skill_tree:SkillTreeEnv",
}


def world_environments(task_cls: type[Any]) -> dict[str, tuple[str, str]]:
    """A world's ids: id → (entry point, the world's task name: which default config it builds)."""
    suffix = task_cls.env_suffix
    if suffix is None:
        raise ValueError(f"task {task_cls.name!r} has no env_suffix: set one to register gymnasium ids for it.")
    return {f"teachenv/{structure}{suffix}-v0": (entry, task_cls.name) for structure, entry in STRUCTURES.items()}


#: id → (entry point, world).
ENVIRONMENTS: dict[str, tuple[str, str]] = {
    env_id: spec for name in WORLD_TASKS for env_id, spec in world_environments(registry.tasks.get(name)).items()
}
#: The arithmetic skill list with the fitted surrogate student (milliseconds a round: for training teachers).
ENVIRONMENTS["teachenv/SurrogateSkillList-v0"] = ("teachenv.envs.surrogate_env:SurrogateSkillListEnv", "arith")
ENV_IDS: dict[str, str] = {env_id: entry for env_id, (entry, _) in ENVIRONMENTS.items()}

#: Ids whose default config is not their world's teaching default: id → "module:function" returning it as data.
ID_DEFAULTS: dict[str, str] = {"teachenv/SurrogateSkillList-v0": "teachenv.envs.surrogate_env:surrogate_defaults"}


def id_defaults(env_id: str) -> dict[str, Any]:
    """The config (as data) a registered id builds without one: what ``gymnasium.make(env_id)`` runs."""
    from teachenv.envs.defaults import world_defaults

    if env_id in ID_DEFAULTS:
        data = registry.import_string(ID_DEFAULTS[env_id])()  # type: ignore[operator]
    else:
        data = world_defaults(ENVIRONMENTS[env_id][1])
    return {**data, "env": {**data["env"], "id": env_id}}


def _register(environments: dict[str, tuple[str, str]]) -> None:
    for env_id, (entry_point, world) in environments.items():
        if env_id not in gymnasium.registry:
            # progress: a first make builds the default tiny student (minutes) and shows how far it is.
            gymnasium.register(id=env_id, entry_point=entry_point, kwargs={"world": world, "progress": True})


def register_world(task_cls: type[Any]) -> list[str]:
    """Register a world's ids with gymnasium (and in ``ENVIRONMENTS``); returns them."""
    environments = world_environments(task_cls)
    ENVIRONMENTS.update(environments)
    ENV_IDS.update({env_id: entry for env_id, (entry, _) in environments.items()})
    _register(environments)
    return list(environments)


def register_envs() -> None:
    _register(ENVIRONMENTS)


def check_env_id(env_id: str) -> None:
    """Raise ``ConfigError`` unless ``env_id`` is registered with gymnasium; the message suggests the id meant."""
    import difflib

    from teachenv.core.errors import ConfigError

    register_envs()
    if env_id in gymnasium.registry:
        return
    ours = sorted(i for i in gymnasium.registry if i.startswith("teachenv/"))
    if f"teachenv/{env_id}" in gymnasium.registry:
        hint = f" Did you mean 'teachenv/{env_id}'? (teachenv's ids have the namespace 'teachenv/')"
    else:
        close = difflib.get_close_matches(env_id, ours, n=2, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(f"Invalid config: env.id: unknown environment id {env_id!r}.{hint} "
                      f"Registered: {', '.join(ours)} (`teachenv list`).")
