"""The surrogate env's shares-only path: no data made, the same spaces and keys, and the same predictions as
the full path wherever the real verifier keeps every example (and exactly where it does not, the difference)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import teachenv  # noqa: F401  (registers the ids)
from teachenv.core.errors import ConfigError, InvalidActionError
from teachenv.core.records import DataGenerationAction
from teachenv.envs.surrogate_env import ENV_ID, SurrogateSkillListEnv, surrogate_config
from teachenv.student.surrogate import shares_of, step


def make(shares_only: bool) -> SurrogateSkillListEnv:
    return gymnasium.make(ENV_ID, shares_only=shares_only).unwrapped


def test_shares_only_keeps_the_spaces_and_info_keys_and_passes_gymnasiums_checks():
    fast, full = make(True), make(False)
    check_env(fast)
    assert fast.observation_space == full.observation_space and fast.action_space == full.action_space
    (_, fast_info), (_, full_info) = fast.reset(seed=0), full.reset(seed=0)
    action = np.array([400, 400, 400, 400, 400])
    fast_step, full_step = fast.step(action), full.step(action)
    assert set(fast_step[4]) == set(full_step[4]) and set(fast_info) == set(full_info)
    record = fast_step[4]["round_result"]  # says honestly that no data was made
    assert record.examples_generated == record.examples_accepted == 0 and record.accepted_by_skill == {}
    assert record.requested == dict(zip(fast.skills, action.tolist())) and record.train.examples == 2000


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


def test_where_the_verifier_drops_examples_the_full_path_trains_on_fewer_and_the_paths_differ_by_exactly_that():
    # mul's training pool is a few hundred problems: asking 1,000 of them twice exhausts it, and the real
    # round keeps only the new ones (rejected as duplicates), so its shares differ from the counts asked.
    fast, full = make(True), make(False)
    fast.reset(seed=1)
    full.reset(seed=1)
    action = np.array([0, 0, 1000, 1000, 0])
    for _ in range(2):
        before_fast, before_full = dict(fast.student.accuracy), dict(full.student.accuracy)
        fast.step(action)
        *_, info = full.step(action)
        accepted = info["round_result"].accepted_by_skill
        assert fast.student.accuracy == step(fast.student.params, before_fast, shares_of(dict(zip(fast.skills, action))))
        assert full.student.accuracy == step(full.student.params, before_full, shares_of(accepted))
    assert accepted.get("mul", 0) < 1000 and info["round_result"].rejected_by_reason.get("duplicate", 0) > 0
    assert fast.student.accuracy["mul"] != full.student.accuracy["mul"]


def test_shares_only_refuses_ready_made_examples_and_an_examples_budget():
    env = make(True)
    env.reset(seed=0)
    example = env.task.generate("sub", 1, np.random.default_rng(0))[0]
    with pytest.raises(InvalidActionError, match="ready-made"):
        env.step(DataGenerationAction(examples=(example,)))
    with pytest.raises(ConfigError, match="budget.examples"):
        SurrogateSkillListEnv(surrogate_config(budget={"examples": 100}), shares_only=True)
