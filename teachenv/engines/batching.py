"""How an in-process backend cuts a list of generation requests into ``generate`` calls.

Requests are grouped by what one ``generate`` call must share (new-token budget, greedy or the
sampling settings, plus anything a backend adds, e.g. whether an image comes with the prompt),
optionally sorted by prompt length within a group so that a batch pads little, and cut into batches.
Each batch gets the seed torch is seeded with before it samples: the requests' own seed for a
group's first batch and a seed derived from it for each later one, so that identical prompts in a
group larger than one batch never repeat the first batch's samples.

It knows nothing about models or tokenizers.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from teachenv.engines.base import GenerationRequest


@dataclass(frozen=True)
class Batch:
    """Indices into the request list, generated together; ``seed`` is None for greedy batches."""

    indices: list[int]
    seed: int | None


def plan_batches(requests: Sequence[GenerationRequest], batch_size: int, *,
                 length: Callable[[int], int] | None = None,
                 extra_key: Callable[[GenerationRequest], Hashable] | None = None) -> list[Batch]:
    """The batches of ``requests`` (see the module docstring); ``length(i)`` sorts a group when given."""
    groups: dict[tuple[Hashable, ...], list[int]] = {}
    for i, request in enumerate(requests):
        greedy = request.temperature == 0
        key = (None if extra_key is None else extra_key(request), request.max_new_tokens, greedy,
               None if greedy else (request.temperature, request.top_p, request.seed))
        groups.setdefault(key, []).append(i)
    batches = []
    for indices in groups.values():
        if length is not None:
            indices.sort(key=length)
        first = requests[indices[0]]
        for part, start in enumerate(range(0, len(indices), batch_size)):
            seed = None if first.temperature == 0 else batch_seed(first.seed, part)
            batches.append(Batch(indices[start:start + batch_size], seed))
    return batches


def batch_seed(seed: int | None, part: int) -> int:
    """The seed of a group's ``part``-th batch: ``seed`` (0 when unset) for the first, derived after it."""
    base = 0 if seed is None else seed
    if part == 0:
        return base
    return int(np.random.SeedSequence([base, part]).generate_state(1)[0])
