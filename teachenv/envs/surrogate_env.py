"""``teachenv/SurrogateSkillList-v0``: the arithmetic skill list with the surrogate student in place of the network.

The structure, spaces, state, data engine, verification and records are the real skill list's; only the
student is ``teachenv.student.surrogate.SurrogateStudent`` (a fitted learning-dynamics model), so a round
takes milliseconds instead of minutes and a teacher policy can be trained by reinforcement learning on it.
What it predicts is only as good as its fit: see ``scripts/fit_surrogate.py`` and the README.

``shares_only=True`` (``gymnasium.make(ENV_ID, shares_only=True)``) skips the data: a round's requests are
clipped to the round's cap exactly as the real round clips them (``clip_requests``), each skill's count cut to
the new problems its pool of training problems can still give (``teachenv.envs.fresh_draws``: the task's
``train_pool`` less what the episode already trained on, as the real round drops repeats as duplicates), and
only those counts per skill reach the surrogate (``SurrogateStudent.train_counts``), so nothing is generated or
verified and a step takes well under a millisecond of teachenv's own work. Spaces, observation, ``info`` and
state keep their keys; ``examples_trained`` counts what the surrogate trained on. The round's record says that
no data was made: ``examples_generated`` and ``examples_accepted`` are 0, ``accepted_by_skill`` is empty,
``requested`` holds the counts asked and ``train.examples`` the total trained on. Where a pool runs dry the
kept count is the expected one, so it may differ from the full path's by an example or two. This module
knows neither the dynamics nor the engine.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from teachenv.core.config import RunConfig, validate_config
from teachenv.core.errors import ConfigError, InvalidActionError
from teachenv.core.records import DataGenerationAction, TrainingExample, TrainMetrics
from teachenv.envs.defaults import world_defaults
from teachenv.envs.fresh_draws import expected_fresh
from teachenv.envs.skill_list import SkillListEnv
from teachenv.envs.teaching_env import RoundData, _Timer, clip_requests, requested_by_skill
from teachenv.student.surrogate import SurrogateStudent

ENV_ID = "teachenv/SurrogateSkillList-v0"


def surrogate_defaults() -> dict[str, Any]:
    """The arithmetic world's teaching default with ``student.model: surrogate``, as data."""
    data = copy.deepcopy(world_defaults("arith"))
    data["name"] = "surrogate-arith"
    data.setdefault("student", {})["model"] = "surrogate"
    return data


def surrogate_config(**overrides: Any) -> RunConfig:
    """``surrogate_defaults`` with ``overrides`` on top, validated."""
    return validate_config({**surrogate_defaults(), **overrides})


class SurrogateSkillListEnv(SkillListEnv):
    def __init__(self, config: RunConfig | dict | str | Path | None = None, *, plumbing: bool = False,
                 world: str = "arith", shares_only: bool = False, **kwargs: Any) -> None:
        # ``plumbing`` asks for a cheap student: the surrogate is one already.
        super().__init__(config if config is not None else surrogate_config(), world=world, **kwargs)
        #: Rounds pass counts per skill to the surrogate instead of generated examples (see the module).
        self.shares_only = shares_only
        self._counts: dict[str, int] = {}
        if shares_only:
            if not isinstance(self.student, SurrogateStudent):
                raise ConfigError(f"shares_only=True needs the surrogate student itself, got "
                                  f"{type(self.student).__name__} (a resumed run replays real examples): "
                                  "resume with shares_only=False")
            if not callable(getattr(self.task, "train_pool", None)):
                raise ConfigError(f"shares_only=True counts what each skill's pool of training problems can still "
                                  f"give, and task {self.task.name!r} does not say (no train_pool): use shares_only=False")
            if self.config.budget.examples is not None:
                raise ConfigError(f"shares_only=True generates no examples to count against budget.examples="
                                  f"{self.config.budget.examples}: leave budget.examples unset or use shares_only=False")

    def _generate_and_verify(self, typed: DataGenerationAction, round_index: int, rng: np.random.Generator,
                             timer: _Timer) -> RoundData:
        if not self.shares_only:
            return super()._generate_and_verify(typed, round_index, rng, timer)
        if typed.examples:
            raise InvalidActionError(f"shares_only=True takes counts per skill, not {len(typed.examples)} "
                                     "ready-made examples: send them to an env made with shares_only=False")
        requests = clip_requests(typed.requests, self.cap)
        self._counts = {skill: kept for skill, asked in requested_by_skill(requests).items()
                        if (kept := expected_fresh(asked, self.task.train_pool(skill), self._accepted_by_skill[skill]))}
        self._accepted_by_skill.update(self._counts)
        return RoundData(requests, accepted=[], rejected=[], made=0)

    def _train(self, accepted: list[TrainingExample], seed: int, round_index: int, timer: _Timer) -> TrainMetrics:
        if not self.shares_only:
            return super()._train(accepted, seed, round_index, timer)
        self._phase("train", round_index)
        with timer("train"):
            return self.student.train_counts(Counter(self._counts))
