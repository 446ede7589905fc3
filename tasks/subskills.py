"""Skill discovery from a world's generator: the subskills of a skill are the distinct settings of the
parameters that split it (``GeneratedTask.subskill_keys``) among the examples the generator makes.

It samples with a fixed seed, so the list (sorted) is the same for every episode. It knows the
generator's interface, not any particular world.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from teachenv.tasks.base import GeneratedTask

#: Examples drawn per skill to find its parameter settings.
SAMPLES = 400


def generator_subskills(task: GeneratedTask, skill: str, samples: int = SAMPLES, seed: int = 0) -> list[dict]:
    """The distinct ``subskill_keys`` settings among ``samples`` generated examples of ``skill``, sorted."""
    keys = task.subskill_keys(skill)
    if not keys:
        return []
    seen = {tuple(made.example.params.get(k) for k in keys)
            for made in task.generate(skill, samples, np.random.default_rng(seed))}
    return [dict(zip(keys, values)) for values in sorted(seen, key=_order)]


def _order(values: tuple) -> tuple:
    """Numbers before text, numbers by value (so 10 follows 9)."""
    return tuple((0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v)) for v in values)
