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


def cheap_config() -> RunConfig:
    return validate_config(CHEAP_DEFAULTS)
