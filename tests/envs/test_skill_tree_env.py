"""The skill-tree environment on the plumbing config: subskills from the world's generator, explore and
exploit, fixed-size spaces with masks."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import teachenv  # noqa: F401  (registers the ids)
from teachenv.core.config import apply_overrides
from teachenv.core.errors import InvalidActionError
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.skill_tree_state import SkillDecision, SkillTreeAction, SkillTreeState
from memory_student import make_env
from teachenv.envs.teaching_env import INFO_ROUND, INFO_STATE

SKILLS = ("add", "add-carry", "sub", "mul", "max")


def make(*overrides: str):
    config = apply_overrides(PLUMBING_DEFAULTS, ["env.id=teachenv/SkillTree-v0", *overrides])
    return make_env("teachenv/SkillTree-v0", config)


def action(explore=(0,) * 5, allocation=None, m=4):
    alloc = np.zeros((5, m), dtype=np.int64) if allocation is None else np.asarray(allocation, dtype=np.int64)
    return {"explore": np.asarray(explore, dtype=np.int64), "allocation": alloc}


def test_reset_starts_with_an_empty_tree():
    env = make()
    obs, info = env.reset(seed=0)
    state: SkillTreeState = info[INFO_STATE]
    assert all(node.subskills == () for node in state.tree)
    assert {n.skill: n.unexplored for n in state.tree} == {"add": 3, "add-carry": 2, "sub": 2, "mul": 4, "max": 2}
    assert obs["subskill_mask"].sum() == 0 and env.observation_space.contains(obs)


def test_explore_adds_subskills_of_the_world_and_trains_on_their_data():
    env = make()
    env.reset(seed=0)
    allocation = np.zeros((5, 4), dtype=np.int64)
    allocation[1, :2] = [3, 5]  # add-carry's two new slots
    allocation[3, 0] = 4  # mul's new slot
    obs, _, _, _, info = env.step(action(explore=(0, 2, 0, 1, 0), allocation=allocation))
    state: SkillTreeState = info[INFO_STATE]
    carry = state.node("add-carry").subskills
    assert sorted(s.params["carries"] for s in carry) == [1, 2]
    assert [s.allocation for s in carry] == [3, 5] and [s.examples for s in carry] == [3, 5]
    (mul,) = state.node("mul").subskills
    assert mul.allocation == mul.examples == 4 and mul.name == f"mul/multiplier={mul.params['multiplier']}"
    # Every example trained is of its subskill; validation items of a subskill are those with its parameters.
    val = env.task.load("val")
    for sub in carry:
        assert sub.val_items == sum(e.skill == "add-carry" and e.params["carries"] == sub.params["carries"] for e in val)
    generated = info[INFO_ROUND].accepted_by_skill
    assert generated == {"add-carry": 8, "mul": 4}
    np.testing.assert_array_equal(obs["subskill_mask"][1], [1, 1, 0, 0])
    np.testing.assert_array_equal(obs["allocation"][1], [3, 5, 0, 0])
    assert state.node("add-carry").unexplored == 0 and state.node("mul").unexplored == 3


def test_exploring_more_than_the_world_has_adds_what_there_is():
    env = make()
    env.reset(seed=0)
    _, _, _, _, info = env.step(action(explore=(4, 4, 4, 4, 4), allocation=np.ones((5, 4), dtype=np.int64)))
    counts = {n.skill: len(n.subskills) for n in info[INFO_STATE].tree}
    assert counts == {"add": 3, "add-carry": 2, "sub": 2, "mul": 4, "max": 2}
    assert info[INFO_ROUND].examples_accepted == sum(counts.values())


def test_exploit_changes_allocations_and_the_tree_persists():
    env = make()
    env.reset(seed=0)
    env.step(SkillTreeAction(decisions={"sub": SkillDecision(explore=2, explore_allocation=2)}))
    names = [s.name for s in env.state().node("sub").subskills]
    _, _, _, _, info = env.step(SkillTreeAction(decisions={"sub": SkillDecision(allocation={names[0]: 6})}))
    subs = info[INFO_STATE].node("sub").subskills
    assert [s.allocation for s in subs] == [6, 2] and [s.examples for s in subs] == [8, 4]
    assert info[INFO_ROUND].requested == {"sub": 8}


def test_the_reward_is_the_mean_of_the_per_skill_changes():
    # The in-memory student learns a skill from one example: here sub and mul, 2 of 5 skills.
    env = make()
    env.reset(seed=3)
    allocation = np.zeros((5, 4), dtype=np.int64)
    allocation[2, 0] = allocation[3, 0] = 4
    _, reward, _, _, info = env.step(action(explore=(0, 0, 1, 1, 0), allocation=allocation))
    per_skill = info[INFO_ROUND].reward_by_skill
    assert per_skill == {"add": 0.0, "add-carry": 0.0, "sub": 1.0, "mul": 1.0, "max": 0.0}
    assert reward == pytest.approx(sum(per_skill.values()) / 5) == pytest.approx(0.4)


@pytest.mark.parametrize("bad, message", [
    ({"explore": np.zeros(5, dtype=np.int64)}, "must be a dict"),
    (action(explore=(5, 0, 0, 0, 0)), "explore"),
    (action(allocation=np.full((5, 4), 99)), "allocation"),
    (action(allocation=np.zeros((5, 3))), "allocation"),
    (SkillTreeAction(decisions={"division": SkillDecision(explore=1)}), "unknown skills"),
    (SkillTreeAction(decisions={"add": SkillDecision(allocation={"add/zeros=7": 1})}), "no subskills"),
    (SkillTreeAction(decisions={"add": SkillDecision(explore=1, explore_allocation=50)}), "env.max_per_skill"),
])
def test_an_action_outside_the_space_is_a_clear_error(bad, message):
    env = make()
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=message):
        env.step(bad)


def test_deciding_nothing_is_a_recorded_no_op():
    env = make()
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(SkillTreeAction())
    assert info[INFO_ROUND].examples_generated == 0 and info[INFO_ROUND].train.examples == 0
    assert reward == 0.0 and not terminated and not truncated


def test_the_example_budget_truncates_exactly_when_crossed():
    env = make("budget.examples=30", "env.max_rounds=5")
    env.reset(seed=0)
    every = action(explore=(2,) * 5, allocation=np.full((5, 4), 8))
    _, _, _, truncated, info = env.step(every)
    assert info[INFO_ROUND].cost.examples_generated == 24 and not truncated
    _, _, terminated, truncated, info = env.step(every)
    assert info[INFO_ROUND].cost.examples_generated == 30
    assert truncated and not terminated and info["truncated_by"] == ("examples",)


def test_the_shapes_world_splits_skills_by_the_number_of_objects():
    env = gymnasium.make("teachenv/SkillTree-Shapes-v0", plumbing=True).unwrapped
    _, info = env.reset(seed=0)
    assert {n.skill: n.unexplored for n in info[INFO_STATE].tree} == {
        "colour": 4, "shape": 4, "count": 4, "exists": 4, "position": 4, "largest": 3}
    _, _, _, _, info = env.step(SkillTreeAction(decisions={"count": SkillDecision(explore=1, explore_allocation=3)}))
    (sub,) = info[INFO_STATE].node("count").subskills
    assert sub.examples == 3 and set(sub.params) == {"objects"}
    env.close()
