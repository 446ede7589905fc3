"""Every structure works with standard RL code (``FlattenObservation``) and with text policies
(``TextObservation``)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.wrappers import FlattenObservation

import teachenv  # noqa: F401  (registers the ids)
from teachenv.envs.registration import ENV_IDS
from teachenv.envs.teaching_env import INFO_STATE
from teachenv.envs.text_space import printable
from teachenv.envs.wrappers import TextObservation

ARITH_IDS = sorted(i for i in ENV_IDS if "Shapes" not in i)


@pytest.mark.parametrize("env_id", ARITH_IDS)
def test_flatten_observation_gives_a_vector_an_rl_agent_can_use(env_id):
    env = FlattenObservation(gymnasium.make(env_id, plumbing=True))
    obs, _ = env.reset(seed=0)
    assert obs.ndim == 1 and env.observation_space.contains(obs.astype(env.observation_space.dtype))
    env.action_space.seed(0)
    obs2, reward, *_ = env.step(env.action_space.sample())
    assert obs2.shape == obs.shape and np.isfinite(reward)
    env.close()


@pytest.mark.parametrize("env_id", ARITH_IDS)
def test_text_observation_is_the_rendered_state(env_id):
    env = TextObservation(gymnasium.make(env_id, plumbing=True))
    text, info = env.reset(seed=0)
    assert text == printable(info[INFO_STATE].to_text(), env.max_chars) and env.observation_space.contains(text)
    assert "Round 0 of 3" in text
    text, *_, info = env.step(env.unwrapped.action_space.sample())
    assert "Round 1 of 3" in text and text == info[INFO_STATE].to_text()
    env.close()
