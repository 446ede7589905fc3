"""The ``ppo`` policy: a PPO teacher trained for real (Stable-Baselines3, by scripts/train_ppo_teacher.py) on the
fast surrogate, saved, loaded as a registered policy and run for a round of the real skill-list env; its errors
for a checkpoint of other shapes and for a machine without the ``rl`` extra."""

from __future__ import annotations

import json
import sys

import gymnasium
import numpy as np
import pytest

import teachenv  # noqa: F401  (registers the ids)
from teachenv.agents.base import build_policy
from teachenv.agents.ppo_spaces import features, wrap
from teachenv.core.config import ComponentSpec, validate_config
from teachenv.core.errors import ConfigError
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.surrogate_env import ENV_ID
from teachenv.envs.teaching_env import INFO_ROUND, INFO_STATE
from script_loader import load_script

pytest.importorskip("stable_baselines3")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """scripts/train_ppo_teacher.py for 240 steps on the shares-only surrogate (a few seconds): its report."""
    out = tmp_path_factory.mktemp("ppo") / "teacher.zip"
    return load_script("scripts/train_ppo_teacher.py").main(
        ["--out", str(out), "--timesteps", "240", "--n-steps", "120", "--eval-episodes", "2"]) | {"path": out}


@pytest.fixture(scope="module")
def checkpoint(trained):
    return trained["path"]


def test_the_training_script_saves_the_checkpoint_its_curve_and_a_ranking_of_it_against_the_baselines(trained):
    record = json.loads(trained["path"].with_suffix(".json").read_text())
    assert [point["update"] for point in record["curve"]] == [1, 2] and record["curve"][-1]["timesteps"] == 240
    assert all(point["episodes"] == 40 for point in record["curve"])  # 120 steps = 40 episodes of 3 rounds
    ranking = record["evaluation"]["ranking"]
    assert sorted(ranking) == ["learning-progress", "ppo", "random", "uniform", "weakest-skill"]
    assert all(len(record["evaluation"]["agents"][a]["per_seed"]) == 2 for a in ranking)


def ppo(path) -> object:
    return build_policy(ComponentSpec(name="ppo", checkpoint=str(path)))


def test_the_policy_sees_the_observation_exactly_as_training_flattened_it():
    env = wrap(gymnasium.make(ENV_ID, shares_only=True))
    flat, info = env.reset(seed=3)
    flat, *_, info = env.step(env.action_space.sample())
    inner = env.unwrapped
    np.testing.assert_array_equal(features(inner, inner.observation(info[INFO_STATE])), flat)


def test_a_trained_checkpoint_loads_as_the_ppo_policy_and_teaches_a_real_env_round(checkpoint):
    env = gymnasium.make("teachenv/SkillList-v0", plumbing=True)  # the real student and data, untrained
    policy = ppo(checkpoint)
    policy.attach(env.unwrapped)
    policy.reset(0)
    _, info = env.reset(seed=0)
    action = policy.act(info[INFO_STATE])
    assert env.action_space.contains(action) and action.sum() == env.unwrapped.cap  # the round's examples, shared
    np.testing.assert_array_equal(policy.act(info[INFO_STATE]), action)  # deterministic
    _, _, _, _, info = env.step(action)
    assert info[INFO_ROUND].examples_accepted == action.sum()


def test_a_checkpoint_of_other_shapes_is_a_config_error_naming_both(checkpoint):
    config = validate_config({**PLUMBING_DEFAULTS, "env": {**PLUMBING_DEFAULTS["env"], "max_rounds": 5}})
    env = gymnasium.make("teachenv/SkillList-v0", config=config)
    policy = ppo(checkpoint)
    policy.attach(env.unwrapped)
    _, info = env.reset(seed=0)
    with pytest.raises(ConfigError, match=r"shape \(18,\).*shape \(20,\)"):
        policy.act(info[INFO_STATE])


def test_without_stable_baselines3_the_error_names_the_extra_to_install(checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # import stable_baselines3 raises ImportError
    env = gymnasium.make(ENV_ID, shares_only=True)
    policy = ppo(checkpoint)
    policy.attach(env.unwrapped)
    _, info = env.reset(seed=0)
    with pytest.raises(ConfigError, match=r"pip install 'teachenv\[rl\]'"):
        policy.act(info[INFO_STATE])


def test_a_missing_checkpoint_and_a_non_skill_list_env_are_config_errors(tmp_path):
    env = gymnasium.make(ENV_ID, shares_only=True)
    policy = ppo(tmp_path / "none.zip")
    policy.attach(env.unwrapped)
    _, info = env.reset(seed=0)
    with pytest.raises(ConfigError, match="none.zip is not a file"):
        policy.act(info[INFO_STATE])
    with pytest.raises(ConfigError, match="skill-list observation"):
        policy.attach(gymnasium.make("teachenv/SkillTree-v0", plumbing=True).unwrapped)
