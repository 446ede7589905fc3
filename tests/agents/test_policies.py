"""The built-in policies, driven by hand-built environment states."""

from __future__ import annotations

import numpy as np
import pytest

from teachenv.agents.base import Policy, build_policy, split_evenly
from teachenv.core.config import ComponentSpec
from teachenv.envs.state import EnvState

SKILLS = ("add", "add-carry", "sub", "mul", "max")


def _state(accuracy: dict[str, float] | None = None, examples_per_round: int = 800,
           max_per_skill: int | None = None, **kw) -> EnvState:
    accuracy = accuracy or {s: 0.5 for s in SKILLS}
    return EnvState(
        round=kw.pop("round", 1), max_rounds=3, skills=tuple(accuracy), examples_per_round=examples_per_round,
        max_per_skill=max_per_skill or examples_per_round,
        val_accuracy=sum(accuracy.values()) / len(accuracy), val_accuracy_by_skill=accuracy,
        accepted_by_skill=kw.pop("accepted_by_skill", {}), budget_left=kw.pop("budget_left", {"examples": 1.0}), **kw,
    )


def _act(policy: Policy, state: EnvState) -> dict[str, int]:
    action = policy.act(state)
    assert isinstance(action, np.ndarray)
    assert action.shape == (len(state.skills),)
    assert np.issubdtype(action.dtype, np.integer)
    return dict(zip(state.skills, action.tolist()))


def test_build_policy_returns_the_registered_policy_with_its_options():
    policy = build_policy(ComponentSpec(name="weakest-skill", focus=1, replay_share=0.25))
    assert policy.name == "weakest-skill"
    assert (policy.config.focus, policy.config.replay_share) == (1, 0.25)


def test_build_policy_of_an_unknown_name_suggests_the_closest():
    with pytest.raises(KeyError, match="Did you mean 'uniform'"):
        build_policy(ComponentSpec(name="unifrom"))


def test_split_evenly_gives_the_remainder_to_the_earlier_slots():
    assert split_evenly(803, 5).tolist() == [161, 161, 161, 160, 160]
    assert split_evenly(2, 4).tolist() == [1, 1, 0, 0]


# -- uniform ------------------------------------------------------------------------------------


def test_uniform_splits_the_round_evenly():
    assert _act(build_policy(ComponentSpec(name="uniform")), _state()) == {s: 160 for s in SKILLS}


def test_uniform_gives_the_remainder_to_the_first_skills():
    counts = _act(build_policy(ComponentSpec(name="uniform")), _state(examples_per_round=803))
    assert list(counts.values()) == [161, 161, 161, 160, 160]


def test_uniform_ignores_accuracies():
    policy = build_policy(ComponentSpec(name="uniform"))
    skewed = _state({"add": 1.0, "add-carry": 0.0, "sub": 0.2, "mul": 0.9, "max": 0.5})
    assert _act(policy, skewed) == _act(policy, _state())


# -- random -------------------------------------------------------------------------------------


def _random_actions(seed: int, rounds: int = 3, **state_kw) -> list[dict[str, int]]:
    policy = build_policy(ComponentSpec(name="random"))
    policy.reset(seed)
    return [_act(policy, _state(**state_kw)) for _ in range(rounds)]


def test_random_with_the_same_seed_repeats_its_actions():
    assert _random_actions(3) == _random_actions(3)


def test_random_with_another_seed_acts_differently():
    assert _random_actions(3) != _random_actions(4)


def test_random_actions_change_from_round_to_round():
    first, second, _ = _random_actions(5)
    assert first != second


def test_random_reset_restarts_the_sequence():
    policy = build_policy(ComponentSpec(name="random"))
    policy.reset(9)
    first = _act(policy, _state())
    _act(policy, _state())
    policy.reset(9)
    assert _act(policy, _state()) == first


def test_random_spends_exactly_the_rounds_examples():
    for action in _random_actions(11, rounds=10):
        assert sum(action.values()) == 800
        assert min(action.values()) >= 0


def test_random_never_exceeds_the_per_skill_bound():
    for action in _random_actions(11, rounds=20, max_per_skill=200):
        assert max(action.values()) <= 200
        assert sum(action.values()) <= 800


# -- weakest-skill ------------------------------------------------------------------------------

ACCURACY = {"add": 0.9, "add-carry": 0.2, "sub": 0.1, "mul": 0.5, "max": 0.95}


def test_weakest_skill_focuses_on_the_lowest_accuracies_and_replays_the_rest():
    counts = _act(build_policy(ComponentSpec(name="weakest-skill")), _state(ACCURACY))
    assert counts["sub"] == counts["add-carry"] == 200  # (1 - 0.5) * 800 over focus=2
    assert counts["add"] + counts["mul"] + counts["max"] == 400
    assert sorted([counts["add"], counts["mul"], counts["max"]]) == [133, 133, 134]
    assert sum(counts.values()) == 800


def test_weakest_skill_respects_focus_and_replay_share():
    policy = build_policy(ComponentSpec(name="weakest-skill", focus=1, replay_share=0.25))
    counts = _act(policy, _state(ACCURACY))
    assert counts["sub"] == 600
    assert {s: counts[s] for s in ("add", "add-carry", "mul", "max")} == {s: 50 for s in ("add", "add-carry", "mul", "max")}


def test_weakest_skill_without_replay_gives_nothing_to_the_others():
    counts = _act(build_policy(ComponentSpec(name="weakest-skill", replay_share=0.0)), _state(ACCURACY))
    assert counts == {"add": 0, "add-carry": 400, "sub": 400, "mul": 0, "max": 0}


def test_weakest_skill_breaks_ties_by_skill_order():
    counts = _act(build_policy(ComponentSpec(name="weakest-skill")), _state())
    assert counts["add"] == counts["add-carry"] == 200
    assert counts["sub"] + counts["mul"] + counts["max"] == 400


def test_weakest_skill_focus_larger_than_the_skills_spends_everything_on_them():
    counts = _act(build_policy(ComponentSpec(name="weakest-skill", focus=9)), _state(ACCURACY))
    assert sum(counts.values()) == 800
    assert sorted(counts.values()) == [160] * 5


def test_weakest_skill_follows_the_state_not_a_fixed_skill():
    policy = build_policy(ComponentSpec(name="weakest-skill", focus=1, replay_share=0.0))
    flipped = {**ACCURACY, "sub": 0.99, "max": 0.05}
    assert _act(policy, _state(flipped))["max"] == 800


def test_weakest_skill_is_clipped_to_the_per_skill_bound():
    counts = _act(build_policy(ComponentSpec(name="weakest-skill", focus=1)), _state(ACCURACY, max_per_skill=300))
    assert counts["sub"] == 300
    assert max(counts.values()) <= 300


# -- the state's text ---------------------------------------------------------------------------


def test_state_text_mentions_every_skill_with_its_accuracy_and_count():
    state = _state(ACCURACY, accepted_by_skill={"sub": 120}, last_reward=0.05)
    text = state.to_text()
    for skill, accuracy in ACCURACY.items():
        line = next(line for line in text.splitlines() if line.startswith(f"{skill} |"))
        assert f"{accuracy:.3f}" in line
    assert "sub | 0.100 | 120" in text
    assert "+0.050" in text
    assert "Round 1 of 3" in text


def test_state_text_shows_only_limited_budgets():
    assert "Budget left" not in _state(budget_left={"examples": 1.0}).to_text()
    assert "examples 25%" in _state(budget_left={"examples": 0.25, "dollars": 1.0}).to_text()
