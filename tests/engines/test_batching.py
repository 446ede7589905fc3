"""plan_batches: one sampling setting per batch, length-sorted groups, a distinct seed per batch."""

from __future__ import annotations

from teachenv.engines.base import GenerationRequest
from teachenv.engines.batching import batch_seed, plan_batches


def test_groups_by_sampling_settings_and_cuts_them_into_batches():
    requests = ([GenerationRequest(prompt="a" * n, temperature=1.0, seed=3) for n in (5, 1, 3)]
                + [GenerationRequest(prompt="g")]
                + [GenerationRequest(prompt="b", temperature=1.0, seed=4)])
    batches = plan_batches(requests, 2, length=lambda i: len(requests[i].prompt))
    assert [b.indices for b in batches] == [[1, 2], [0], [3], [4]]
    assert [b.seed for b in batches] == [3, batch_seed(3, 1), None, 4]


def test_later_batches_of_a_group_get_distinct_derived_seeds():
    seeds = [batch_seed(7, part) for part in range(50)]
    assert seeds[0] == 7 and len(set(seeds)) == 50
    assert batch_seed(None, 0) == 0 and batch_seed(None, 1) == batch_seed(0, 1)


def test_an_extra_key_keeps_requests_apart():
    requests = [GenerationRequest(prompt="x"), GenerationRequest(prompt="y", image=b"png")]
    batches = plan_batches(requests, 8, extra_key=lambda r: r.image is not None)
    assert [b.indices for b in batches] == [[0], [1]]
