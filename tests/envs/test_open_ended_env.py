"""The open-ended environment on the plumbing config: errors as the observation, plans as the action."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import teachenv  # noqa: F401  (registers the ids)
from teachenv.core.config import apply_overrides
from teachenv.core.errors import InvalidActionError
from teachenv.core.plan import ANY_SKILL, Plan
from teachenv.core.records import SkillRequest
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.open_ended import OpenEndedState
from memory_student import make_env
from teachenv.envs.teaching_env import INFO_ROUND, INFO_STATE


def make(*overrides: str, real_student: bool = False):
    """The environment with an in-memory student (or the real plumbing one, where the test is about its answers)."""
    config = apply_overrides(PLUMBING_DEFAULTS, ["env.id=teachenv/OpenEnded-v0", *overrides])
    if real_student:
        return gymnasium.make("teachenv/OpenEnded-v0", config=config).unwrapped
    return make_env("teachenv/OpenEnded-v0", config)


def test_the_observation_is_a_sample_of_real_validation_errors():
    env = make("env.errors_shown=6", real_student=True)
    obs, info = env.reset(seed=1)
    state: OpenEndedState = info[INFO_STATE]
    val = {e.prompt: e for e in env.task.load("val")}
    wrong = [p for p in env.val_predictions if p.credit < 1]
    assert state.val_errors == len(wrong) == int(obs["val_errors"][0]) and state.val_questions == len(val)
    assert len(state.errors) == min(6, len(wrong))
    for error in state.errors:
        item = val[error.question]
        assert error.gold_answer == item.answer and error.skill == item.skill
        assert error.student_answer != item.answer
    assert obs["errors"] == state.errors_text() and env.observation_space.contains(obs)
    assert "Skills: add, add-carry, sub, mul, max" in state.to_text()
    # The same seed shows the same errors.
    _, again = env.reset(seed=1)
    assert again[INFO_STATE].errors == state.errors


def test_a_plan_in_the_grammar_becomes_the_requests_it_names():
    env = make()
    env.reset(seed=0)
    _, _, _, _, info = env.step("add-carry: 5 carries=2\nmul: 3\nmore carrying, please")
    result = info[INFO_ROUND]
    assert result.requested == {"add-carry": 5, "mul": 3} and result.plan_error is None
    assert result.accepted_by_skill == {"add-carry": 5, "mul": 3}


@pytest.mark.parametrize("plan, reason", [
    ("Focus on the student's carrying mistakes.", "no line of the plan"),
    ("add-carry: 5 carries=9", "no example has the parameters"),
    ("add-carry: 5 colour=red", "takes the parameters"),
    ("division: 5", "unknown skill"),
])
def test_a_plan_the_engine_cannot_use_is_a_recorded_no_op_and_the_episode_goes_on(plan, reason):
    env = make()
    obs0, _ = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(plan)
    result = info[INFO_ROUND]
    assert reason in result.plan_error and result.log_row()["plan_error"] == result.plan_error
    assert result.examples_generated == 0 and result.train.examples == 0 and reward == 0.0
    assert not terminated and not truncated
    _, _, _, _, info = env.step("add: 4")  # the episode continues
    assert info[INFO_ROUND].examples_accepted == 4


@pytest.mark.parametrize("action, message", [
    ("add: 4 → please", "printable ASCII"),
    ("add: 4\n" + "x" * 3000, "at most 2000 characters"),
    (np.array([1, 2]), "must be a plan"),
])
def test_an_action_outside_the_space_is_a_clear_error(action, message):
    env = make()
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=message):
        env.step(action)


def test_a_typed_plan_is_used_as_given():
    env = make()
    env.reset(seed=0)
    plan = Plan(requests=(SkillRequest(skill="sub", count=4, params={"borrows": 1}),), notes="borrowing")
    _, _, _, _, info = env.step(plan)
    assert info[INFO_ROUND].accepted_by_skill == {"sub": 4}


def test_the_example_budget_truncates_exactly_when_crossed():
    env = make("budget.examples=30", "env.max_rounds=5")
    env.reset(seed=0)
    _, _, _, truncated, info = env.step("add: 20\nsub: 20")  # clipped to the round cap of 24
    assert info[INFO_ROUND].cost.examples_generated == 24 and not truncated
    _, _, terminated, truncated, info = env.step("add: 20\nsub: 20")  # 6 left
    assert info[INFO_ROUND].cost.examples_generated == 30
    assert truncated and not terminated and info["truncated_by"] == ("examples",)


def test_an_llm_engine_takes_a_prose_plan_as_its_prompt():
    env = make("agent.engine.name=llm", "agent.teacher.name=scripted", "agent.teacher.malformed_rate=0",
               "agent.teacher.wrong_rate=0", "agent.cache.enabled=false", "agent.engine.examples_per_call=12")
    try:
        env.reset(seed=0)
        _, _, _, _, info = env.step("Write simple problems; the student cannot add or subtract yet.")
        result = info[INFO_ROUND]
        assert result.plan_error is None and result.requested == {ANY_SKILL: 24}
        # The scripted teacher spreads a prose plan over every skill and names each example's skill.
        assert result.examples_accepted == 24 and set(result.accepted_by_skill) == set(env.skills)
        _, _, _, _, info = env.step("sub: 10\n# only borrowing")  # a plan in the grammar: its counts
        assert info[INFO_ROUND].accepted_by_skill == {"sub": 10}
    finally:
        env.close()


def test_errors_in_the_shapes_world_show_the_whole_scene_specification():
    import json

    env = gymnasium.make("teachenv/OpenEnded-Shapes-v0", plumbing=True).unwrapped
    _, info = env.reset(seed=0)
    errors = info[INFO_STATE].errors
    assert errors
    for error in errors:
        spec = json.loads(error.question)  # the scene as the teacher writes it back, not cut off
        assert spec["objects"] and spec["question"]
    env.close()
