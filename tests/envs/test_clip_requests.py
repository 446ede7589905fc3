"""``clip_requests``: the per-round cap on requested examples."""

from __future__ import annotations

import subprocess
import sys

import pytest

from teachenv.core.records import SkillRequest
from teachenv.envs.teaching_env import clip_requests

SKILLS = ("add", "add-carry", "sub", "mul", "max")


def _requests(*counts: int) -> tuple[SkillRequest, ...]:
    return tuple(SkillRequest(skill=s, count=c) for s, c in zip(SKILLS, counts))


def _counts(requests) -> list[int]:
    return [r.count for r in requests]


def test_requests_under_the_cap_are_unchanged():
    requests = _requests(100, 200, 0, 50, 10)
    assert clip_requests(requests, 800) == requests


def test_requests_exactly_at_the_cap_are_unchanged():
    requests = _requests(400, 400)
    assert clip_requests(requests, 800) == requests


@pytest.mark.parametrize(("counts", "cap"), [
    ((800, 800, 800, 800, 800), 800),
    ((1, 1, 1), 2),
    ((1000, 1, 1, 1, 1), 100),
    ((7, 13, 29, 31, 3), 50),
    ((5, 0, 5), 3),
    ((999, 998, 997), 1),
])
def test_requests_over_the_cap_sum_to_exactly_the_cap(counts, cap):
    assert sum(_counts(clip_requests(_requests(*counts), cap))) == cap


@pytest.mark.parametrize(("counts", "cap"), [((7, 13, 29, 31, 3), 50), ((1000, 1, 1, 1, 1), 100), ((3, 3, 3), 7)])
def test_clipped_counts_are_within_one_of_the_proportional_share(counts, cap):
    clipped = _counts(clip_requests(_requests(*counts), cap))
    total = sum(counts)
    for original, new in zip(counts, clipped):
        share = original * cap / total
        assert share - 1 < new <= share + 1
        assert new <= original


def test_clipping_keeps_skills_order_and_params():
    requests = (SkillRequest(skill="sub", count=300, params={"digits": 3}), SkillRequest(skill="add", count=100))
    clipped = clip_requests(requests, 200)
    assert [r.skill for r in clipped] == ["sub", "add"]
    assert _counts(clipped) == [150, 50]
    assert clipped[0].params == {"digits": 3}


def test_zero_requests_stay_zero():
    assert _counts(clip_requests(_requests(0, 100, 0, 100, 0), 50)) == [0, 25, 0, 25, 0]


def test_equal_remainders_go_to_the_earlier_skill():
    assert _counts(clip_requests(_requests(1, 1, 1), 2)) == [1, 1, 0]
    assert _counts(clip_requests(_requests(2, 2, 2, 2), 5)) == [2, 1, 1, 1]


def test_clipping_is_deterministic():
    requests = _requests(123, 456, 789, 12, 345)
    assert clip_requests(requests, 777) == clip_requests(requests, 777)


def test_a_cap_of_zero_clips_everything():
    assert _counts(clip_requests(_requests(5, 5), 0)) == [0, 0]


def test_importing_the_environment_module_does_not_import_torch():
    code = (
        "import sys, teachenv.envs.teaching_env\n"
        "print(','.join(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
