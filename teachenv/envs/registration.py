"""Registers teachenv's environments with gymnasium under versioned ``teachenv/...`` ids.

Every structure (skill list, open-ended, skill tree) × every task that builds offline (the arith
and shapes worlds) is registered; ``teachenv/<Structure>-v0`` is the arithmetic world and
``teachenv/<Structure>-Shapes-v0`` the shapes world. Real tasks (a VQA dataset, later GSM8K, code)
need a data source, so they run through a config that names a structure's id and the task.
Entry points are lazy ``"module:Class"`` strings, so registering imports nothing heavy. Without a
``config``, an id builds its world's teaching default (``gymnasium.make(id, plumbing=True)``: the
untrained plumbing config; see ``envs.defaults``).
"""

from __future__ import annotations

import gymnasium

#: Structure name in the id → entry point.
STRUCTURES: dict[str, str] = {
    "SkillList": "teachenv.envs.skill_list:SkillListEnv",
    "OpenEnded": "teachenv.envs.open_ended:OpenEndedEnv",
    "SkillTree": "teachenv.envs.skill_tree:SkillTreeEnv",
}
#: Id suffix of each offline world → the world's name (``world`` kwarg: which default config it builds).
WORLDS: dict[str, str] = {"": "arith", "-Shapes": "shapes"}

#: id → (entry point, world).
ENVIRONMENTS: dict[str, tuple[str, str]] = {
    f"teachenv/{structure}{suffix}-v0": (entry, world)
    for structure, entry in STRUCTURES.items() for suffix, world in WORLDS.items()
}
ENV_IDS: dict[str, str] = {env_id: entry for env_id, (entry, _) in ENVIRONMENTS.items()}


def register_envs() -> None:
    for env_id, (entry_point, world) in ENVIRONMENTS.items():
        if env_id not in gymnasium.registry:
            # progress: a first make builds the default tiny student (minutes) and shows how far it is.
            gymnasium.register(id=env_id, entry_point=entry_point, kwargs={"world": world, "progress": True})


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
