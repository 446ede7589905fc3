"""The configs a registered id builds when ``gymnasium.make`` gets no ``config``.

- **Teaching default** (what ``gymnasium.make(id)`` gives): a pretrained tiny student that starts weak
  on some skills and learns them from a few hundred examples, so every reward means something.
  The arithmetic ids use the quick start's tiny student (built once, with progress, then cached
  under ``TEACHENV_HOME``: 2-5 minutes on 2 CPU cores the first time); the shapes ids a smaller
  tiny vision student whose first build takes about a minute. A step takes seconds.
- **Plumbing** (``gymnasium.make(id, plumbing=True)``): an untrained student, a few evaluation items,
  two optimizer steps a round. It builds in milliseconds and checks the wiring (``check_env``,
  tests); its accuracy is 0 and so is every reward: it teaches nothing.

Real recipes come from configs (``configs/*.yaml``). This module knows configs, not environments.
"""

from __future__ import annotations

from typing import Any

from teachenv.core.config import RunConfig, validate_config

#: The untrained plumbing configuration of the arithmetic world (teaches nothing; builds in milliseconds).
PLUMBING_DEFAULTS: dict[str, Any] = {
    "name": "plumbing",
    "task": {"name": "arith", "val_per_skill": 4, "test_per_skill": 4},
    "student": {
        "model": "plumbing",
        "tiny": {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32, "pretrain_steps": 0},
        "train": {"max_steps": 2, "batch_size": 8},
    },
    "env": {"max_rounds": 3, "examples_per_round": 24, "max_per_skill": 8},
}

#: The plumbing configuration of the shapes (VQA) world: an untrained tiny vision student, 4 scenes per skill.
PLUMBING_SHAPES_DEFAULTS: dict[str, Any] = {
    **PLUMBING_DEFAULTS,
    "name": "plumbing-shapes",
    "task": {"name": "shapes", "val_per_skill": 4, "test_per_skill": 4},
    "student": {
        **PLUMBING_DEFAULTS["student"],
        "tiny_vlm": {"vision_hidden_size": 16, "vision_layers": 1, "vision_heads": 2, "hidden_size": 16,
                     "num_layers": 1, "num_heads": 2, "intermediate_size": 32, "pretrain_steps": 0},
    },
    "env": {"max_rounds": 3, "examples_per_round": 24, "max_per_skill": 6},
}

#: The arithmetic ids' teaching default: the quick start's tiny student (same recipe, same cache; `sub` and
#: `mul` start weak), 40 validation items a skill, rounds of up to 2,000 examples and 100 LoRA steps.
TEACHING_DEFAULTS: dict[str, Any] = {
    "name": "default",
    "task": {"name": "arith", "val_per_skill": 40, "test_per_skill": 40},
    "student": {"model": "tiny", "train": {"max_steps": 100, "batch_size": 32}},
    "env": {"max_rounds": 3, "examples_per_round": 2000},
}

#: The shapes ids' teaching default: a tiny vision student pretrained briefly (`colour` and `largest` left
#: out, so they start at 0), 30 scenes a skill, rounds of up to 300 examples and 60 LoRA steps.
TEACHING_SHAPES_DEFAULTS: dict[str, Any] = {
    "name": "default-shapes",
    "task": {"name": "shapes", "val_per_skill": 30, "test_per_skill": 30},
    "student": {"model": "tiny", "tiny_vlm": {"pretrain_steps": 200, "warmup_steps": 20},
                "train": {"max_steps": 60, "batch_size": 32}},
    "env": {"max_rounds": 3, "examples_per_round": 300},
}

_DEFAULTS: dict[tuple[str, bool], dict[str, Any]] = {
    ("arith", False): TEACHING_DEFAULTS, ("arith", True): PLUMBING_DEFAULTS,
    ("shapes", False): TEACHING_SHAPES_DEFAULTS, ("shapes", True): PLUMBING_SHAPES_DEFAULTS,
}


def world_defaults(world: str, *, plumbing: bool = False) -> dict[str, Any]:
    """The default config (as data) of an id on ``world``. The shipped worlds have their own; another
    world (a ``WorldTask`` registered with ``register_world``) takes the text or the image world's,
    by its modality, with itself as the task (and its own split sizes)."""
    if (world, plumbing) in _DEFAULTS:
        return _DEFAULTS[(world, plumbing)]
    from teachenv.core import registry

    image = registry.tasks.get(world).modality == "image"
    base = _DEFAULTS[("shapes" if image else "arith", plumbing)]
    return {**base, "name": f"{base['name']}-{world}", "task": {"name": world}}


def default_config(world: str = "arith", *, plumbing: bool = False) -> RunConfig:
    """The default config of an id on ``world``: the teaching default, or with ``plumbing`` the untrained one."""
    return validate_config(world_defaults(world, plumbing=plumbing))


def plumbing_config() -> RunConfig:
    """The arithmetic world's plumbing configuration (tests, ``check_env``)."""
    return default_config("arith", plumbing=True)
