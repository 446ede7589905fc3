"""The skill-list environment's contract, on the plumbing config (untrained plumbing student)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import teachenv  # noqa: F401  (registers the ids)
from teachenv.core.errors import EnvStateError, InvalidActionError
from teachenv.core.records import DataGenerationAction, SkillRequest, TaskExample, TrainingExample
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.registration import ENV_IDS
from memory_student import make_env
from teachenv.envs.teaching_env import INFO_ROUND, INFO_STATE, INFO_TEST_ACCURACY, INFO_TRUNCATED_BY


def config_with(**overrides):
    from teachenv.core.config import apply_overrides

    return apply_overrides(PLUMBING_DEFAULTS, [f"{k}={v}" for k, v in overrides.items()])


def make(**overrides):
    """The environment's own logic, with an in-memory student (its accuracies are known in advance)."""
    return make_env("teachenv/SkillList-v0", config_with(**overrides))


def make_real(**overrides):
    """With the real (plumbing) student, for what is a claim about the student."""
    return gymnasium.make("teachenv/SkillList-v0", config=config_with(**overrides)).unwrapped


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_every_registered_id_passes_check_env(env_id):
    env = gymnasium.make(env_id, plumbing=True)
    check_env(env.unwrapped)
    env.close()


def test_reward_is_change_in_mean_val_accuracy():
    # The in-memory student knows `add` from the start and learns a skill from one example of it.
    env = make_env("teachenv/SkillList-v0", config_with(), knows=["add"])
    _, info = env.reset(seed=3)
    assert info[INFO_ROUND].val.accuracy == pytest.approx(0.2)
    _, reward, _, _, info = env.step(np.array([0, 0, 4, 0, 0]))  # sub: 0 → 1 of five skills
    assert reward == pytest.approx(0.2)
    assert info[INFO_ROUND].reward_by_skill == {"add": 0.0, "add-carry": 0.0, "sub": 1.0, "mul": 0.0, "max": 0.0}
    _, reward, _, _, info = env.step(np.array([4, 4, 4, 0, 0]))  # add-carry learnt; add and sub already known
    assert reward == pytest.approx(0.2) and info[INFO_ROUND].val.accuracy == pytest.approx(0.6)


@pytest.mark.parametrize("bad", [
    np.array([1, 2, 3, 4, 99]),  # above max_per_skill
    np.array([1, 2, 3, 4, -1]),  # negative
    np.array([1, 2, 3]),  # wrong shape
    np.array([1.0, 2.0, 3.0, 4.0, 5.0]),  # not integers
])
def test_action_outside_the_space_raises_a_clear_error(bad):
    env = make()
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="examples per skill|outside the action space"):
        env.step(bad)


def test_unknown_skill_in_a_typed_action_is_an_error():
    env = make()
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="unknown skills"):
        env.step(DataGenerationAction(requests=(SkillRequest(skill="division", count=3),)))


def test_an_empty_action_is_a_recorded_no_op():
    env = make()
    obs0, info0 = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(np.zeros(5, dtype=np.int64))
    result = info[INFO_ROUND]
    assert result.examples_generated == 0 and result.train.examples == 0 and result.train.steps == 0
    assert reward == 0.0
    np.testing.assert_array_equal(obs["val_accuracy"], obs0["val_accuracy"])
    assert not terminated and not truncated


def test_ready_made_examples_are_verified_like_any_other():
    env = make()
    env.reset(seed=0)
    val_item = env.task.load("val")[0]

    def example(prompt, answer, skill):
        task_example = TaskExample(id=prompt, skill=skill, prompt=prompt, answer=answer)
        return TrainingExample(example=task_example, completion=answer, origin="agent")

    action = DataGenerationAction(examples=(
        example("23-12=", "11", "sub"),  # right
        example("23-12=", "11", "sub"),  # duplicate
        example("23-13=", "11", "sub"),  # wrong answer
        example("what is 2+2", "4", "add"),  # unparseable
        example("23-2=", "21", "sub"),  # a one-digit operand: not a sub problem of this task
        TrainingExample(example=val_item, completion=val_item.answer, origin="agent"),  # in the val split
    ))
    _, _, _, _, info = env.step(action)
    result = info[INFO_ROUND]
    assert result.ready_made == 6 and result.examples_generated == 6
    assert result.examples_accepted == 1 and result.accepted_by_skill == {"sub": 1}
    assert result.rejected_by_reason == {
        "duplicate": 1, "overlaps-eval": 1, "skill-mismatch": 1, "unparseable": 1, "wrong-answer": 1,
    }


def test_actions_are_clipped_to_the_round_cap():
    env = make(**{"env.examples_per_round": 10})
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.full(5, 8, dtype=np.int64))
    result = info[INFO_ROUND]
    assert sum(result.requested.values()) == 10 and result.examples_generated == 10


def test_example_budget_truncates_exactly_when_crossed():
    env = make(**{"budget.examples": 30, "env.max_rounds": 5})
    env.reset(seed=0)
    action = np.full(5, 8, dtype=np.int64)  # 40 asked, clipped to the cap of 24
    _, _, terminated, truncated, info = env.step(action)
    assert info[INFO_ROUND].cost.examples_generated == 24 and not truncated and not terminated
    assert info["state"].budget_left["examples"] == pytest.approx(0.2)
    _, _, terminated, truncated, info = env.step(action)  # only 6 left
    assert info[INFO_ROUND].cost.examples_generated == 30
    assert truncated and not terminated and info[INFO_TRUNCATED_BY] == ("examples",)
    assert INFO_TEST_ACCURACY in info
    with pytest.raises(EnvStateError):
        env.step(action)


def test_episode_terminates_at_the_round_limit_with_test_accuracy():
    env = make(**{"env.max_rounds": 2})
    _, info = env.reset(seed=0)
    assert INFO_TEST_ACCURACY in info and info[INFO_ROUND].test is not None
    _, _, terminated, _, info = env.step(np.ones(5, dtype=np.int64))
    assert not terminated and INFO_TEST_ACCURACY not in info
    _, _, terminated, truncated, info = env.step(np.ones(5, dtype=np.int64))
    assert terminated and not truncated and info[INFO_ROUND].test is not None


def test_step_before_reset_is_an_error():
    with pytest.raises(EnvStateError, match="reset"):
        make().step(np.zeros(5, dtype=np.int64))


def test_reset_restores_the_starting_student():
    env = make_real(**{"student.train.max_steps": 10, "student.train.learning_rate": 0.05})
    obs_a, info_a = env.reset(seed=1)
    for _ in range(2):
        env.step(np.full(5, 4, dtype=np.int64))
    obs_b, info_b = env.reset(seed=1)
    assert info_a[INFO_ROUND] == info_b[INFO_ROUND]
    assert info_b[INFO_STATE].accepted_by_skill == {s: 0 for s in env.skills}
    np.testing.assert_array_equal(obs_a["val_accuracy"], obs_b["val_accuracy"])


def test_render_ansi_shows_the_state():
    env = gymnasium.make("teachenv/SkillList-v0", plumbing=True, render_mode="ansi").unwrapped
    env.reset(seed=0)
    text = env.render()
    assert "Round 0 of 3" in text and "add-carry" in text


def test_examples_an_engine_adds_beyond_its_requests_are_rejected_as_over_budget(monkeypatch):
    from teachenv.core import registry
    from teachenv.agents.procedural_engine import ProceduralEngine

    class OvereagerEngine(ProceduralEngine):
        name = "overeager"

        def generate(self, action, rng):
            doubled = action.model_copy(update={"requests": tuple(
                r.model_copy(update={"count": 2 * r.count}) for r in action.requests)})
            return super().generate(doubled, rng)

    monkeypatch.setitem(registry.engines._entries, "overeager", OvereagerEngine)
    env = make(**{"agent.engine.name": "overeager"})
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([2, 0, 0, 0, 0]))
    result = info[INFO_ROUND]
    assert result.examples_generated == 4 and result.examples_accepted == 2
    assert result.rejected_by_reason == {"over-budget": 2}
