"""The surrogate env's shares-only path: no data made, the same spaces and keys, and the same predictions as
the full path, also where a skill's pool of training problems runs dry and the real round drops repeats."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import teachenv  # noqa: F401  (registers the ids)
from teachenv.core.errors import ConfigError, InvalidActionError
from teachenv.core.records import DataGenerationAction
from teachenv.agents.procedural_engine import MAX_DRAW_ROUNDS
from teachenv.envs.fresh_draws import DRAW_ROUNDS, expected_fresh
from teachenv.envs.surrogate_env import ENV_ID, SurrogateSkillListEnv, surrogate_config
from teachenv.tasks.arith.task import ArithTask
from teachenv.student.surrogate import shares_of, step


def make(shares_only: bool) -> SurrogateSkillListEnv:
    return gymnasium.make(ENV_ID, shares_only=shares_only).unwrapped


def test_shares_only_keeps_the_spaces_and_info_keys_and_passes_gymnasiums_checks():
    fast, full = make(True), make(False)
    check_env(fast)
    assert fast.observation_space == full.observation_space and fast.action_space == full.action_space
    (_, fast_info), (_, full_info) = fast.reset(seed=0), full.reset(seed=0)
    action = np.array([400, 400, 400, 300, 400])  # within every pool: all kept (mul's holds 497)
    fast_step, full_step = fast.step(action), full.step(action)
    assert set(fast_step[4]) == set(full_step[4]) and set(fast_info) == set(full_info)
    record = fast_step[4]["round_result"]  # says honestly that no data was made
    assert record.examples_generated == record.examples_accepted == 0 and record.accepted_by_skill == {}
    assert record.requested == dict(zip(fast.skills, action.tolist())) and record.train.examples == 1900


def test_where_the_verifier_keeps_every_example_both_paths_predict_the_same():
    fast, full = make(True), make(False)
    allocations = [np.array([400, 400, 400, 0, 800]), np.array([0, 300, 800, 0, 900]), np.array([300, 300, 500, 0, 900])]
    fast_obs, _ = fast.reset(seed=7)
    full_obs, _ = full.reset(seed=7)
    for action in allocations:
        fast_obs, fast_reward, *_, fast_info = fast.step(action)
        full_obs, full_reward, *_, full_info = full.step(action)
        assert full_info["round_result"].accepted_by_skill == {s: int(n) for s, n in zip(full.skills, action) if n}
        assert fast.student.accuracy == full.student.accuracy
        assert fast_reward == full_reward
        for key in fast_obs:
            np.testing.assert_array_equal(fast_obs[key], full_obs[key])
    assert fast_info["test_accuracy"] == full_info["test_accuracy"]


def test_where_a_skills_pool_runs_dry_both_paths_train_on_what_the_real_round_keeps():
    # mul's training pool is 497 problems: asking 1,000 of them twice exhausts it, and the real round keeps
    # only the new ones (the rest rejected as duplicates); the shares-only path trains on the same counts.
    fast, full = make(True), make(False)
    trained, _ = fast.reset(seed=1)
    full.reset(seed=1)
    action = np.array([0, 0, 1000, 1000, 0])
    for _ in range(2):
        before = dict(fast.student.accuracy)
        previous = trained["examples_trained"]
        trained, *_, fast_info = fast.step(action)
        *_, info = full.step(action)
        kept = dict(zip(fast.skills, (trained["examples_trained"] - previous).tolist()))
        accepted = info["round_result"].accepted_by_skill
        assert all(abs(kept[s] - accepted.get(s, 0)) <= 2 for s in fast.skills)  # the expected count of new ones
        assert fast_info["round_result"].train.examples == sum(kept.values())
        assert fast.student.accuracy == step(fast.student.params, before, shares_of(kept))
        np.testing.assert_allclose(list(fast.student.accuracy.values()), list(full.student.accuracy.values()), atol=1e-3)
    assert info["round_result"].rejected_by_reason.get("duplicate", 0) > 0
    assert kept["mul"] < 100 and accepted.get("mul", 0) < 100  # asked 1,000: only the pool's last new problems


def test_expected_fresh_draws_follow_the_pool_and_the_engines_draw_rounds():
    assert DRAW_ROUNDS == MAX_DRAW_ROUNDS  # the model mirrors the engine's procedure
    assert expected_fresh(300, None, 10_000) == 300  # a pool too large to count never limits a round
    assert expected_fresh(1000, 497, 0) == 497 and expected_fresh(1000, 497, 497) == 0
    assert expected_fresh(100, 5000, 0) == 100  # far from dry: every draw is new
    assert ArithTask().train_pool("mul") == 497 < ArithTask().train_pool("add") < ArithTask().train_pool("max")


def test_shares_only_refuses_ready_made_examples_and_an_examples_budget():
    env = make(True)
    env.reset(seed=0)
    example = env.task.generate("sub", 1, np.random.default_rng(0))[0]
    with pytest.raises(InvalidActionError, match="ready-made"):
        env.step(DataGenerationAction(examples=(example,)))
    with pytest.raises(ConfigError, match="budget.examples"):
        SurrogateSkillListEnv(surrogate_config(budget={"examples": 100}), shares_only=True)
