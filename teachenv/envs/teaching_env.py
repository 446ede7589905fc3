"""``TeachingEnv``: the round every environment structure shares, as a ``gymnasium.Env`` base.

A round is a short sequence of calls on injected components — the teacher's data engine, the
verifier, the student, the ledger — and this module knows only their interfaces, never TRL,
transformers or vLLM. Subclasses (the structures: skill list, open-ended, skill tree) define the
spaces, how an action becomes a ``DataGenerationAction``, their typed state (``state``) and its
observation, and any bookkeeping after a round (``after_round``).
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from teachenv.core.apportion import apportion
from teachenv.core.config import RunConfig
from teachenv.core.errors import EnvStateError
from teachenv.core.ledger import BUDGET_NAMES, CostLedger
from teachenv.core.records import (
    DataGenerationAction, GradedPrediction, RoundResult, SkillRequest, TaskExample, TrainingExample,
)
from teachenv.core.run_dir import RunDirectory
from teachenv.envs import build
from teachenv.envs.defaults import cheap_config
from teachenv.envs.recorder import RunRecorder
from teachenv.envs.replay import EpisodeReplay, ReplayingStudent
from teachenv.envs.state import EnvState, RoundState
from teachenv.envs.verification import Verifier
from teachenv.engines.base import EngineOutput

#: Keys of ``info`` (defined once; values are deterministic for a seed and config).
INFO_STATE = "state"
INFO_ROUND = "round_result"
INFO_TEST_ACCURACY = "test_accuracy"
INFO_TRUNCATED_BY = "truncated_by"

PhaseCallback = Callable[[str, int], None]


def clip_requests(requests: tuple[SkillRequest, ...], cap: int) -> tuple[SkillRequest, ...]:
    """Scale counts down proportionally so they sum to at most ``cap`` (largest remainders first)."""
    if sum(r.count for r in requests) <= cap:
        return requests
    counts = apportion(cap, [r.count for r in requests])
    return tuple(r.model_copy(update={"count": int(c)}) for r, c in zip(requests, counts))


def requested_by_skill(requests: tuple[SkillRequest, ...]) -> dict[str, int]:
    """Examples asked per skill (requests for several subskills of one skill add up)."""
    totals: Counter[str] = Counter()
    for request in requests:
        totals[request.skill] += request.count
    return dict(totals)


def as_json(action: Any) -> Any:
    """An agent's action as JSON for the run log (arrays as lists, records as dicts)."""
    if isinstance(action, np.ndarray):
        return action.tolist()
    if isinstance(action, dict):
        return {k: as_json(v) for k, v in action.items()}
    return action


class TeachingEnv(gym.Env):
    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, config: RunConfig | dict | str | Path | None = None, *,
                 run_dir: str | Path | RunDirectory | None = None, render_mode: str | None = None,
                 on_phase: PhaseCallback | None = None, progress: bool = False,
                 replay: EpisodeReplay | None = None) -> None:
        self.config = build.as_run_config(config, default=cheap_config())
        self.render_mode = render_mode
        self.on_phase = on_phase
        self.task = build.build_task(self.config)
        self.skills = self.task.skills
        self.ledger = CostLedger(self.config.budget, self.config.prices)
        #: The agent's teacher model behind the response cache (None without ``agent.teacher``); the
        #: engine uses it, and an LLM policy takes it from here (``Policy.attach``).
        self.teacher = build.build_teacher(self.config, self.task)
        self.engine = build.build_engine(self.config, self.task, self.ledger, self.teacher)
        self.student = build.build_student(self.config, self.task, progress=progress)
        #: The finished rounds of a resumed run (see ``envs.replay``), stepped through again first.
        self.replay = replay
        if replay is not None:
            self.student = ReplayingStudent(self.student, replay)
        self.verifier = Verifier(self.task, [*self.task.load("val"), *self.task.load("test")])
        if run_dir is not None and not isinstance(run_dir, RunDirectory):
            run_dir = RunDirectory(run_dir)
        self.recorder = RunRecorder(run_dir, replay) if run_dir is not None else None
        self.max_rounds = self.config.env.max_rounds
        self.cap = self.config.env.examples_per_round
        self.max_per_skill = self.config.env.max_per_skill or self.cap
        self._round: int | None = None
        self._done = False
        #: The student's graded validation answers after the latest evaluation.
        self.val_predictions: list[GradedPrediction] = []

    # -- structure-specific ------------------------------------------------------------------
    @abstractmethod
    def to_generation_action(self, action: Any) -> DataGenerationAction:
        """Validate an action (raise ``InvalidActionError``) and express it as a typed action."""

    @abstractmethod
    def observation(self, state: RoundState) -> Any:
        """The gymnasium observation of ``state``."""

    def after_round(self, accepted: list[TrainingExample]) -> None:
        """Structure bookkeeping once a round (or the reset, with no examples) has been evaluated."""

    # -- gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        timer = _Timer()
        self.ledger.reset()
        self.verifier.reset()
        self.engine.reset()
        if self.teacher is not None:
            self.teacher.begin_episode(self.np_random_seed)
        self._accepted_by_skill = Counter({s: 0 for s in self.skills})
        self._round, self._done, self._last_reward = 0, False, None
        with timer("reset_student"):
            self.student.reset(seed=self._next_seed())
        self._phase("evaluate", 0)
        with timer("eval_val"):
            self._val, predictions = self.student.evaluate("val")
        self.val_predictions = predictions
        with timer("eval_test"):
            test, _ = self.student.evaluate("test")
        result = RoundResult(round=0, val=self._val, test=test, cost=self.ledger.snapshot())
        self.after_round([])
        self._begin_teacher_round(1)
        state = self.state()
        if self.recorder is not None:
            self.recorder.start_episode()
            self.recorder.record(result, timer.seconds, predictions=predictions, state=state,
                                 ledger_seconds=self.ledger.seconds)
        return self.observation(state), {INFO_STATE: state, INFO_ROUND: result, INFO_TEST_ACCURACY: test.accuracy}

    def step(self, action: Any):
        if self._round is None:
            raise EnvStateError("Call reset() before step().")
        if self._done:
            raise EnvStateError("The episode has ended; call reset() to start a new one.")
        typed = self.to_generation_action(action)
        timer = _Timer()
        started = time.perf_counter()
        round_index = self._round + 1
        data_rng = np.random.default_rng(self._next_seed())
        train_seed = self._next_seed()

        cap = self.cap if self.ledger.remaining_examples() is None else min(self.cap, self.ledger.remaining_examples())
        requests = clip_requests(typed.requests, cap)
        self._phase("generate", round_index)
        with timer("generate"):
            output = (self.engine.generate(typed.model_copy(update={"requests": requests, "examples": ()}), data_rng)
                      if requests else EngineOutput([]))
        # What an engine returns beyond its requests goes last, so the limit rejects it as over-budget.
        asked = sum(r.count for r in requests)
        candidates = [*output.candidates[:asked], *typed.examples, *output.candidates[asked:]]
        self._phase("verify", round_index)
        with timer("verify"):
            accepted, rejected = self.verifier.verify(candidates, limit=min(cap, asked + len(typed.examples)))
        rejected = [*output.rejected, *rejected]
        candidates_made = len(candidates) + len(output.rejected)
        self.ledger.add_examples(candidates_made, len(accepted))
        self._accepted_by_skill.update(c.example.skill for c in accepted)
        self._phase("train", round_index)
        with timer("train"):
            if self.teacher is not None:
                self.teacher.sleep()  # one GPU: the teacher's vLLM lends its memory to training
            metrics = self.student.train(accepted, seed=train_seed)
            if self.teacher is not None:
                self.teacher.wake_up()
        self._phase("evaluate", round_index)
        with timer("eval_val"):
            val, predictions = self.student.evaluate("val")
        self.val_predictions = predictions
        reward = val.accuracy - self._val.accuracy
        previous = self._val.accuracy_by_skill
        reward_by_skill = {s: acc - previous[s] for s, acc in val.accuracy_by_skill.items()}
        self._val, self._round, self._last_reward = val, round_index, reward
        if self.replay is not None and self.replay.covers(round_index):
            self.ledger.seconds = self.replay.ledger_seconds(round_index)  # the crashed run's count, not the replay's
        else:
            self.ledger.add_seconds(time.perf_counter() - started)

        terminated = round_index >= self.max_rounds
        exhausted = [] if terminated else self.ledger.exhausted()
        truncated = bool(exhausted)
        test = None
        if terminated or truncated:
            self._done = True
            with timer("eval_test"):
                test, _ = self.student.evaluate("test")
        result = RoundResult(
            round=round_index,
            requested=requested_by_skill(requests),
            ready_made=len(typed.examples),
            examples_generated=candidates_made,
            examples_accepted=len(accepted),
            accepted_by_skill=dict(sorted(Counter(c.example.skill for c in accepted).items())),
            rejected_by_reason=dict(sorted(Counter(r.reason for r in rejected).items())),
            train=metrics, val=val, reward=reward, reward_by_skill=reward_by_skill, test=test,
            cost=self.ledger.snapshot(), terminated=terminated, truncated=truncated, truncated_by=tuple(exhausted),
            plan_error=typed.plan_error,
        )
        self.after_round(accepted)
        state = self.state()
        if self.recorder is not None:
            self._phase("save", round_index)
            self.recorder.record(result, timer.seconds, predictions=predictions, action=typed,
                                 accepted=accepted, rejected=rejected, student=self.student, state=state,
                                 structure_action=None if action is typed else as_json(action),
                                 ledger_seconds=self.ledger.seconds)
        self._begin_teacher_round(round_index + 1)
        info: dict[str, Any] = {INFO_STATE: state, INFO_ROUND: result}
        if test is not None:
            info[INFO_TEST_ACCURACY] = test.accuracy
        if truncated:
            info[INFO_TRUNCATED_BY] = tuple(exhausted)
        return self.observation(state), reward, terminated, truncated, info

    def close(self) -> None:
        self.student.close()
        if self.teacher is not None:
            self.teacher.close()
            self.teacher = None
        super().close()

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self.state().to_text() if self._round is not None else "(not reset yet)"
        return None

    # -- helpers -----------------------------------------------------------------------------
    @cached_property
    def val_examples(self) -> dict[str, TaskExample]:
        """The validation examples by id (what the structures show the teacher of an error or a subskill)."""
        return {e.id: e for e in self.task.load("val")}

    def state(self) -> RoundState:
        """The typed state (``info["state"]``); the skill-list view unless a structure shows another."""
        return EnvState(**self.common_state(), val_accuracy_by_skill=self._val.accuracy_by_skill,
                        accepted_by_skill=dict(self._accepted_by_skill))

    def common_state(self) -> dict[str, Any]:
        """The fields of ``RoundState`` every structure's state shares."""
        return {
            "round": self._round or 0,
            "max_rounds": self.max_rounds,
            "skills": self.skills,
            "examples_per_round": self.cap,
            "max_per_skill": self.max_per_skill,
            "val_accuracy": self._val.accuracy,
            "budget_left": {name: self.ledger.fraction_left(name) for name in BUDGET_NAMES},
            "last_reward": self._last_reward,
        }

    def _begin_teacher_round(self, round_index: int) -> None:
        """Teacher calls from now on (the policy's next decision, then the round's data) belong to
        ``round_index`` in the response cache's key."""
        if self.teacher is not None:
            self.teacher.begin_round(round_index)

    def _next_seed(self) -> int:
        return int(self.np_random.integers(0, 2**31 - 1))

    def _phase(self, name: str, round_index: int) -> None:
        if self.on_phase is not None:
            self.on_phase(name, round_index)


class _Timer:
    """Accumulates wall seconds per phase (for the run log only, never for ``info``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
