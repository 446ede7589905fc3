"""``explore-exploit`` (skill tree only) and ``learning-progress`` (every structure), driven by
hand-built states."""

from __future__ import annotations

import numpy as np
import pytest

from teachenv.agents.base import build_policy
from teachenv.core.apportion import apportion
from teachenv.core.config import ComponentSpec
from teachenv.core.errors import ConfigError
from teachenv.core.plan import Plan
from teachenv.envs.open_ended import ErrorSample, OpenEndedState
from teachenv.envs.skill_tree_state import SkillNode, SkillTreeAction, SkillTreeState, Subskill
from teachenv.envs.state import EnvState

COMMON = dict(max_rounds=10, budget_left={"examples": 1.0})


def _sub(name: str, accuracy: float | None, allocation: int = 0) -> Subskill:
    return Subskill(name=name, params={"digits": len(name)}, allocation=allocation,
                    val_items=0 if accuracy is None else 10, val_accuracy=accuracy)


def _tree(nodes: dict[str, tuple[float, tuple[Subskill, ...], int]], round: int = 0,
          examples_per_round: int = 100, max_per_skill: int = 100) -> SkillTreeState:
    """A skill-tree state from ``{skill: (accuracy, subskills, unexplored)}``."""
    accuracy = {skill: acc for skill, (acc, _, _) in nodes.items()}
    return SkillTreeState(
        round=round, skills=tuple(nodes), examples_per_round=examples_per_round, max_per_skill=max_per_skill,
        val_accuracy=sum(accuracy.values()) / len(accuracy), val_accuracy_by_skill=accuracy, accepted_by_skill={},
        tree=tuple(SkillNode(skill=s, val_accuracy=a, subskills=subs, unexplored=u) for s, (a, subs, u) in nodes.items()),
        max_subskills=4, **COMMON,
    )


def _env_state(scores: dict[str, float], examples_per_round: int = 100) -> EnvState:
    return EnvState(round=0, skills=tuple(scores), examples_per_round=examples_per_round,
                    max_per_skill=examples_per_round, val_accuracy=sum(scores.values()) / len(scores),
                    val_accuracy_by_skill=scores, accepted_by_skill={}, **COMMON)


def _decide(state: SkillTreeState, **options) -> SkillTreeAction:
    action = build_policy(ComponentSpec(name="explore-exploit", **options)).act(state)
    assert isinstance(action, SkillTreeAction)
    return action


def _spent(action: SkillTreeAction, skill: str) -> int:
    decision = action.decisions[skill]
    return decision.explore * decision.explore_allocation + sum(decision.allocation.values())


# -- apportion ----------------------------------------------------------------------------------


def test_apportion_rounds_by_largest_remainders_to_the_total():
    assert apportion(10, np.array([1.0, 1.0, 1.0]), cap=10).tolist() == [4, 3, 3]
    assert apportion(10, np.array([0.2, 0.9]), cap=10).tolist() == [2, 8]  # 1.8, 8.2


def test_apportion_caps_each_slot_and_gives_the_excess_to_the_others():
    assert apportion(100, np.array([10.0, 1.0, 1.0]), cap=40).tolist() == [40, 30, 30]
    assert apportion(100, np.array([1.0, 1.0]), cap=30).tolist() == [30, 30]
    assert apportion(5, np.ones(0), cap=30).tolist() == []


# -- explore-exploit ----------------------------------------------------------------------------


def test_explore_exploit_explores_every_skill_on_the_first_round():
    action = _decide(_tree({"add": (0.5, (), 3), "sub": (0.4, (), 3)}, examples_per_round=101))
    assert {s: (d.explore, d.explore_allocation) for s, d in action.decisions.items()} == {"add": (1, 51), "sub": (1, 50)}


def test_explore_splits_the_share_evenly_over_old_and_new_subskills():
    subs = (_sub("a", 0.9, 25), _sub("bb", 0.1, 25))
    decision = _decide(_tree({"add": (0.5, subs, 2)}, round=2, examples_per_round=50)).decisions["add"]
    assert (decision.explore, decision.explore_allocation) == (1, 16)
    assert decision.allocation == {"a": 17, "bb": 17}  # evenly, whatever the accuracies


def test_explore_exploit_exploits_on_odd_rounds_with_more_for_the_weaker_subskill():
    subs = (_sub("a", 0.9), _sub("bb", 0.2))
    decision = _decide(_tree({"add": (0.5, subs, 2)}, round=1, examples_per_round=50)).decisions["add"]
    assert decision.explore == 0
    assert decision.allocation == {"a": 9, "bb": 41}  # 50 * (0.1 + 0.1) / 1.1, 50 * (0.8 + 0.1) / 1.1


def test_exploit_uses_the_skill_accuracy_for_a_subskill_without_validation_items():
    subs = (_sub("a", 0.3), _sub("bb", None), _sub("ccc", 0.9))
    decision = _decide(_tree({"add": (0.3, subs, 0)}, round=1, examples_per_round=50)).decisions["add"]
    assert decision.allocation["a"] == decision.allocation["bb"] > decision.allocation["ccc"]


def test_a_larger_floor_flattens_the_exploit_split():
    subs = (_sub("a", 0.9), _sub("bb", 0.2))
    steep = _decide(_tree({"add": (0.5, subs, 0)}, round=1), floor=0.01).decisions["add"].allocation
    flat = _decide(_tree({"add": (0.5, subs, 0)}, round=1), floor=2.0).decisions["add"].allocation
    assert steep["bb"] - steep["a"] > flat["bb"] - flat["a"] > 0


def test_a_skill_with_nothing_to_explore_exploits_on_explore_rounds():
    subs = (_sub("a", 0.9), _sub("bb", 0.2))
    action = _decide(_tree({"add": (0.5, subs, 0), "sub": (0.5, (), 2)}, round=0))
    assert action.decisions["add"].explore == 0
    assert action.decisions["add"].allocation["bb"] > action.decisions["add"].allocation["a"]
    assert action.decisions["sub"].explore == 1


def test_a_skill_without_subskills_explores_even_on_exploit_rounds_and_is_skipped_when_it_cannot():
    action = _decide(_tree({"add": (0.5, (), 2), "sub": (0.5, (), 0)}, round=1))
    assert (action.decisions["add"].explore, action.decisions["add"].explore_allocation) == (1, 50)
    assert "sub" not in action.decisions


def test_explore_takes_the_configured_number_up_to_what_is_left():
    action = _decide(_tree({"add": (0.5, (_sub("a", 0.5),), 4), "sub": (0.5, (_sub("a", 0.5),), 1)}), explore=2)
    assert (action.decisions["add"].explore, action.decisions["add"].explore_allocation) == (2, 16)
    assert action.decisions["add"].allocation == {"a": 18}
    assert (action.decisions["sub"].explore, action.decisions["sub"].explore_allocation) == (1, 25)


@pytest.mark.parametrize("round", [0, 1, 2, 3])
def test_explore_exploit_spends_each_share_and_never_exceeds_max_per_skill(round):
    rng = np.random.default_rng(round)
    nodes = {}
    for skill in ("add", "sub", "mul", "max"):
        subs = tuple(_sub("x" * (j + 1), float(rng.uniform()) if rng.uniform() < 0.8 else None)
                     for j in range(int(rng.integers(1, 4))))
        nodes[skill] = (float(rng.uniform()), subs, int(rng.integers(0, 2)))
    for cap, spends_share in ((1000, True), (60, False)):
        action = _decide(_tree(nodes, round=round, examples_per_round=803, max_per_skill=cap))
        for skill, share in zip(nodes, (201, 201, 201, 200)):
            decision = action.decisions[skill]
            assert max([*decision.allocation.values(), decision.explore_allocation]) <= cap
            if spends_share:
                assert _spent(action, skill) == share
            else:
                assert _spent(action, skill) <= min(share, cap * (len(nodes[skill][1]) + decision.explore))


def test_explore_exploit_refuses_a_state_that_is_not_a_skill_tree():
    with pytest.raises(ConfigError, match=r"teachenv/SkillTree-v0.*teachenv/SkillTree-Shapes-v0.*EnvState"):
        build_policy(ComponentSpec(name="explore-exploit")).act(_env_state({"add": 0.5}))


# -- learning-progress --------------------------------------------------------------------------

SCORES = {"add": 0.0, "sub": 0.5, "mul": 0.5, "max": 0.5, "div": 0.5}


def _learning_progress(seed: int = 0, **options):
    policy = build_policy(ComponentSpec(name="learning-progress", **options))
    policy.reset(seed)
    return policy


def _teach(policy, rounds: int = 10, gain: float = 0.1) -> list[np.ndarray]:
    """Rounds in which feeding ``add`` raises its score by ``gain`` and nothing else ever changes."""
    scores, actions = dict(SCORES), []
    for _ in range(rounds):
        counts = policy.act(_env_state(scores))
        actions.append(counts)
        if counts[0] > 0:
            scores["add"] = min(1.0, scores["add"] + gain)
    return actions


def test_learning_progress_repeats_itself_for_a_seed_and_not_for_another():
    first, again, other = (_teach(_learning_progress(seed)) for seed in (3, 3, 4))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_learning_progress_spends_exactly_the_rounds_examples():
    for counts in _teach(_learning_progress(1)):
        assert counts.sum() == 100 and counts.min() >= 0


def test_learning_progress_starts_uniform():
    policy = _learning_progress()
    assert dict(policy.probabilities) == {}
    policy.act(_env_state(SCORES))
    assert dict(policy.probabilities) == pytest.approx({s: 0.2 for s in SCORES})


def test_learning_progress_learns_to_feed_the_skill_that_progresses():
    policy = _learning_progress()
    _teach(policy)
    p = policy.probabilities
    assert p["add"] > 0.4  # 0.49 with 10 rounds of progress; uniform is 0.2
    assert p["sub"] == p["mul"] == p["max"] == p["div"] < 0.2
    assert sum(p.values()) == pytest.approx(1.0)


def test_learning_progress_learns_from_raw_progress_too_but_slower():
    raw, scaled = _learning_progress(normalize=False), _learning_progress()
    _teach(raw)
    _teach(scaled)
    assert 0.2 < raw.probabilities["add"] < scaled.probabilities["add"]


def test_learning_progress_learns_nothing_when_no_score_moves():
    policy = _learning_progress()
    _teach(policy, gain=0.0)
    assert dict(policy.probabilities) == pytest.approx({s: 0.2 for s in SCORES})


def test_learning_progress_reset_forgets_what_it_learned():
    policy = _learning_progress()
    _teach(policy)
    policy.reset(0)
    assert dict(policy.probabilities) == {}
    policy.act(_env_state(SCORES))
    assert policy.probabilities["add"] == pytest.approx(0.2)


def test_learning_progress_probabilities_are_read_only():
    policy = _learning_progress()
    policy.act(_env_state(SCORES))
    with pytest.raises(TypeError):
        policy.probabilities["add"] = 1.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        policy.probabilities = {}  # type: ignore[misc]


def test_learning_progress_acts_in_the_open_ended_structure_with_a_plan():
    state = OpenEndedState(
        round=0, skills=("add", "sub"), examples_per_round=100, max_per_skill=100, val_accuracy=0.5,
        errors=(ErrorSample(question="1+1", student_answer="3", gold_answer="2", skill="add"),),
        val_errors=1, val_questions=2, plan_max_chars=1000, **COMMON,
    )
    plan = _learning_progress().act(state)
    assert isinstance(plan, Plan)
    assert sum(r.count for r in plan.requests) == 100
    assert {r.skill for r in plan.requests} <= {"add", "sub"}


def test_learning_progress_acts_in_the_skill_tree_structure():
    action = _learning_progress().act(_tree({"add": (0.5, (), 3), "sub": (0.4, (), 3)}))
    assert isinstance(action, SkillTreeAction)
    assert sum(d.explore_allocation for d in action.decisions.values()) == 100
