"""The cheap default every registered id builds with, so ``gymnasium.make(id)`` and ``check_env``
work offline in seconds: an untrained plumbing student, a small validation set, a few steps.
Real recipes come from configs (``configs/*.yaml``)."""

from __future__ import annotations

from typing import Any

from teachenv.core.config import RunConfig, validate_config

CHEAP_DEFAULTS: dict[str, Any] = {
    "name": "cheap-default",
    "task": {"name": "arith", "val_per_skill": 4, "test_per_skill": 4},
    "student": {
        "model": "plumbing",
        "tiny": {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32, "pretrain_steps": 0},
        "train": {"max_steps": 2, "batch_size": 8},
    },
    "env": {"max_rounds": 3, "examples_per_round": 24, "max_per_skill": 8},
}


#: The cheap default of the shapes (VQA) ids: an untrained tiny vision student, 4 scenes per skill.
CHEAP_SHAPES_DEFAULTS: dict[str, Any] = {
    **CHEAP_DEFAULTS,
    "name": "cheap-default-shapes",
    "task": {"name": "shapes", "val_per_skill": 4, "test_per_skill": 4},
    "student": {
        **CHEAP_DEFAULTS["student"],
        "tiny_vlm": {"vision_hidden_size": 16, "vision_layers": 1, "vision_heads": 2, "hidden_size": 16,
                     "num_layers": 1, "num_heads": 2, "intermediate_size": 32, "pretrain_steps": 0},
    },
    "env": {"max_rounds": 3, "examples_per_round": 24, "max_per_skill": 6},
}


def cheap_world_defaults(task: str, modality: str) -> dict[str, Any] | None:
    """The cheap default of an offline world's registered ids: None for the arithmetic world (the config's
    own default); else the arithmetic one's (a text world) or the shapes one's (an image world: the tiny
    vision student) with the world as the task."""
    if task == CHEAP_DEFAULTS["task"]["name"]:
        return None
    base = CHEAP_SHAPES_DEFAULTS if modality == "image" else CHEAP_DEFAULTS
    return {**base, "name": f"cheap-default-{task}", "task": {"name": task, "val_per_skill": 4, "test_per_skill": 4}}


def cheap_config() -> RunConfig:
    return validate_config(CHEAP_DEFAULTS)
