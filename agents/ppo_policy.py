"""``ppo``: a teacher trained by reinforcement learning (Stable-Baselines3 PPO) on the surrogate student.

``agent.policy: {name: ppo, checkpoint: PATH}`` loads an SB3 ``.zip`` trained by ``scripts/train_ppo_teacher.py``
(default: the shipped ``checkpoints/ppo-arith-surrogate.zip``, trained on ``teachenv/SurrogateSkillList-v0``
with ``shares_only``). Each round it shows the network the environment's observation of the state, mapped
exactly as in training (``teachenv.agents.ppo_spaces``), and turns its deterministic action into examples per
skill. It acts in the skill-list structure (real or surrogate) whose observation has the checkpoint's shape.

Stable-Baselines3 and torch are imported when the checkpoint is first needed, never at ``import teachenv``
(``pip install 'teachenv[rl]'``). It knows the mapping and SB3's load call, nothing of how the model was trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.agents.base import Policy
from teachenv.agents.ppo_spaces import counts_of, features
from teachenv.core.errors import ConfigError
from teachenv.envs.skill_list import SkillListEnv
from teachenv.envs.state import RoundState

SHIPPED = Path(__file__).with_name("checkpoints") / "ppo-arith-surrogate.zip"


class PPOPolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    checkpoint: Path = Field(SHIPPED, description="An SB3 PPO .zip from scripts/train_ppo_teacher.py "
                                                  "(default: the one trained on the arithmetic surrogate).")


class PPOPolicy(Policy):
    name = "ppo"
    Config = PPOPolicyConfig

    def __init__(self, config: PPOPolicyConfig | None = None) -> None:
        super().__init__(config or PPOPolicyConfig())
        self.env: Any = None
        self.model: Any = None

    def attach(self, env: Any) -> None:
        if not isinstance(env, SkillListEnv):
            raise ConfigError(f"Policy 'ppo' reads the skill-list observation, which {type(env).__name__} does not "
                              "give: use env.id teachenv/SkillList-v0 (or the surrogate's, for training)")
        self.env = env

    def allocate(self, state: RoundState) -> np.ndarray:
        if self.env is None:
            raise ConfigError("Policy 'ppo' was not attached to an environment: call policy.attach(env.unwrapped) "
                              "before the first act (teachenv run does).")
        x = features(self.env, self.env.observation(state))
        model = self.load(x.shape, (len(state.skills),))
        action, _ = model.predict(x, deterministic=True)
        return counts_of(action, state.examples_per_round, state.max_per_skill)

    def load(self, observation_shape: tuple[int, ...], action_shape: tuple[int, ...]) -> Any:
        """The checkpoint's model (loaded once), checked against the environment's shapes."""
        if self.model is None:
            self.model = load_checkpoint(self.config.checkpoint)  # type: ignore[union-attr]
        have_obs, have_act = tuple(self.model.observation_space.shape), tuple(self.model.action_space.shape)
        if have_obs != tuple(observation_shape) or have_act != tuple(action_shape):
            raise ConfigError(
                f"agent.policy.checkpoint {self.config.checkpoint} was trained on observations of shape {have_obs} "  # type: ignore[union-attr]
                f"and actions of shape {have_act}, but this environment gives observations of shape "
                f"{tuple(observation_shape)} and takes actions of shape {tuple(action_shape)}: train a checkpoint on "
                "this world, its skills and env.max_rounds (scripts/train_ppo_teacher.py)")
        return self.model


def load_checkpoint(path: Path) -> Any:
    try:
        from stable_baselines3 import PPO
    except ImportError:
        raise ConfigError("Policy 'ppo' needs Stable-Baselines3: pip install 'teachenv[rl]'") from None
    if not Path(path).is_file():
        raise ConfigError(f"agent.policy.checkpoint {path} is not a file: train one with "
                          "scripts/train_ppo_teacher.py or leave it out for the shipped checkpoint")
    return PPO.load(str(path), device="cpu")
