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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.core import ActType, ObsType

from teachenv.core.apportion import apportion
from teachenv.core.config import RunConfig
from teachenv.core.errors import EnvStateError
from teachenv.core.ledger import BUDGET_NAMES, CostLedger
from teachenv.core.records import (
    DataGenerationAction, EvalReport, GradedPrediction, RejectedExample, RoundResult, SkillRequest, TaskExample,
    TrainingExample, TrainMetrics,
)
from teachenv.core.run_dir import RunDirectory
from teachenv.envs import build
from teachenv.envs.agent_workspace import AgentWorkspace
from teachenv.envs.recorder import RunRecorder
from teachenv.envs.replay import EpisodeReplay, ReplayingStudent, count_round_seconds
from teachenv.envs.state import EnvState, RoundState
from teachenv.envs.verification import Verifier
from teachenv.engines.cached_backend import CachedBackend
from teachenv.envs.data_engine import EngineOutput
from teachenv.student.base import Student
from teachenv.tasks.base import Task

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


def ordered_candidates(output: EngineOutput, ready_made: Sequence[TrainingExample], asked: int) -> list[TrainingExample]:
    """The candidates to verify, in order: the engine's answers to the requests, the action's ready-made
    examples, then whatever the engine returned beyond its requests (last, so the round's limit
    rejects that as over-budget)."""
    return [*output.candidates[:asked], *ready_made, *output.candidates[asked:]]


@dataclass(frozen=True)
class RoundData:
    """A round's data after verification."""

    requests: tuple[SkillRequest, ...]
    accepted: list[TrainingExample]
    rejected: list[RejectedExample]
    #: Candidates made, the engine's own rejects included (what the examples budget counts).
    made: int


def as_json(action: Any) -> Any:
    """An agent's action as JSON for the run log (arrays as lists, records as dicts)."""
    if isinstance(action, np.ndarray):
        return action.tolist()
    if isinstance(action, dict):
        return {k: as_json(v) for k, v in action.items()}
    return action


class TeachingEnv(gym.Env[ObsType, ActType]):
    """A teacher's episode as a ``gymnasium.Env``: ``reset`` evaluates the starting student, each
    ``step`` runs one round (generate and verify the action's data → train with the teacher asleep
    → evaluate → finish: reward, budgets, the test split at the end, the record).

    The components come from the config (``teachenv.envs.build``); ``task`` and ``student`` may be
    injected instead (a test of the environment's own logic can pass a small in-memory student).
    Structures subclass it with their spaces and action / state translation.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, config: RunConfig | dict | str | Path | None = None, *, plumbing: bool = False,
                 world: str = "arith", run_dir: str | Path | RunDirectory | None = None,
                 render_mode: str | None = None, on_phase: PhaseCallback | None = None, progress: bool = False,
                 replay: EpisodeReplay | None = None, task: Task | None = None,
                 student: Student | None = None) -> None:
        # Without a config: the id's teaching default on ``world``, or with ``plumbing`` the untrained one.
        self.config = build.env_config(config, world=world, plumbing=plumbing)
        self.render_mode = render_mode
        self.on_phase = on_phase
        self.task = task if task is not None else build.build_task(self.config)
        self.skills = self.task.skills
        self.ledger = CostLedger(self.config.budget, self.config.prices)
        #: The agent's teacher model behind the response cache (None without ``agent.teacher``); the
        #: engine uses it, and an LLM policy takes it from here (``Policy.attach``).
        self.teacher: CachedBackend | None = build.build_teacher(self.config)
        self.engine = build.build_engine(self.config, self.task, self.ledger, self.teacher)
        student = student if student is not None else build.build_student(self.config, self.task, progress=progress)
        #: The finished rounds of a resumed run (see ``envs.replay``), stepped through again first.
        self.replay = replay
        self.student: Student = ReplayingStudent(student, replay) if replay is not None else student
        self.verifier = Verifier(self.task, [*self.task.load("val"), *self.task.load("test")])
        if run_dir is not None and not isinstance(run_dir, RunDirectory):
            run_dir = RunDirectory(run_dir)
        self.recorder = RunRecorder(run_dir, replay) if run_dir is not None else None
        #: The agent's per-round artefacts and memos (``rounds/<k>/agent/``), read back in replayed rounds.
        self.workspace = AgentWorkspace(run_dir, self.ledger, replayed_rounds=replay.rounds if replay else 0,
                                        teacher=self.teacher)
        self.engine.attach(self)
        self.max_rounds = self.config.env.max_rounds
        self.cap = self.config.env.examples_per_round
        self.max_per_skill = self.config.env.max_per_skill or self.cap
        #: The last finished round (0 after reset; None before the first reset).
        self._round: int | None = None
        self._data_seed = 0
        self._done = False
        self._last_reward: float | None = None
        #: The latest validation report (set by reset).
        self._val: EvalReport | None = None
        self._accepted_by_skill: Counter[str] = Counter()
        #: The student's graded validation answers after the latest evaluation.
        self.val_predictions: list[GradedPrediction] = []

    # -- structure-specific ------------------------------------------------------------------
    @abstractmethod
    def to_generation_action(self, action: Any) -> DataGenerationAction:
        """Validate an action (raise ``InvalidActionError``) and express it as a typed action."""

    @abstractmethod
    def observation(self, state: RoundState) -> ObsType:
        """The gymnasium observation of ``state``."""

    def after_round(self, accepted: list[TrainingExample]) -> None:
        """Structure bookkeeping once a round (or the reset, with no examples) has been evaluated."""

    # -- gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[ObsType, dict[str, Any]]:
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
        self._data_seed = self._next_seed()
        val, predictions = self._evaluate_val(0, timer)
        self._val = val
        with timer("eval_test"):
            test, _ = self.student.evaluate("test")
        result = RoundResult(round=0, val=val, test=test, cost=self.ledger.snapshot())
        self.after_round([])
        state = self.state()
        if self.recorder is not None:
            self.recorder.start_episode()
        self._record(result, timer, state, predictions=predictions)
        self._begin_teacher_round(1)
        return self.observation(state), self._info(state, result)

    def step(self, action: ActType) -> tuple[ObsType, SupportsFloat, bool, bool, dict[str, Any]]:
        typed = self.to_generation_action(self._running(action))
        timer, started = _Timer(), time.perf_counter()
        round_index = self._round + 1
        # Common random numbers: every round's data generator carries the episode's data seed as its entropy
        # (engines may key per-skill streams by it), and the training seed is the env's next draw, so two
        # agents at the same episode seed get the same ones whatever they choose.
        data_rng = np.random.default_rng(np.random.SeedSequence(self._data_seed, spawn_key=(round_index,)))
        train_seed = self._next_seed()

        data = self._generate_and_verify(typed, round_index, data_rng, timer)
        metrics = self._train(data.accepted, train_seed, round_index, timer)
        val, predictions = self._evaluate_val(round_index, timer)
        count_round_seconds(self.ledger, round_index, time.perf_counter() - started, self.replay)
        result = self._finish(round_index, typed, data, metrics, val, timer)

        self.after_round(data.accepted)
        state = self.state()
        self._record(result, timer, state, predictions=predictions, action=typed, data=data,
                     structure_action=None if action is typed else as_json(action))
        self._begin_teacher_round(round_index + 1)
        return self.observation(state), result.reward, result.terminated, result.truncated, self._info(state, result)

    # -- the round's parts -------------------------------------------------------------------
    def _running(self, action: ActType) -> ActType:
        if self._round is None:
            raise EnvStateError("Call reset() before step().")
        if self._done:
            raise EnvStateError("The episode has ended; call reset() to start a new one.")
        return action

    def _generate_and_verify(self, typed: DataGenerationAction, round_index: int, rng: np.random.Generator,
                             timer: _Timer) -> RoundData:
        """The engine's candidates for the requests (clipped to the round's cap and the examples left),
        with the action's ready-made examples, verified; the ledger counts what was made and kept."""
        left = self.ledger.remaining_examples()
        cap = self.cap if left is None else min(self.cap, left)
        requests = clip_requests(typed.requests, cap)
        self._phase("generate", round_index)
        with timer("generate"):
            output = (self.engine.generate(typed.model_copy(update={"requests": requests, "examples": ()}), rng)
                      if requests else EngineOutput([]))
        asked = sum(r.count for r in requests)
        candidates = ordered_candidates(output, typed.examples, asked)
        self._phase("verify", round_index)
        with timer("verify"):
            accepted, rejected = self.verifier.verify(candidates, limit=min(cap, asked + len(typed.examples)))
        data = RoundData(requests, accepted, [*output.rejected, *rejected], len(candidates) + len(output.rejected))
        self.ledger.add_examples(data.made, len(accepted))
        self._accepted_by_skill.update(c.example.skill for c in accepted)
        return data

    def _train(self, accepted: list[TrainingExample], seed: int, round_index: int, timer: _Timer) -> TrainMetrics:
        """Train the student on the accepted examples, the teacher asleep meanwhile."""
        self._phase("train", round_index)
        with timer("train"):
            if self.teacher is not None:
                self.teacher.sleep()  # one GPU: the teacher's vLLM lends its memory to training
            metrics = self.student.train(accepted, seed=seed)
            if self.teacher is not None:
                self.teacher.wake_up()
        return metrics

    def _evaluate_val(self, round_index: int, timer: _Timer) -> tuple[EvalReport, list[GradedPrediction]]:
        self._phase("evaluate", round_index)
        with timer("eval_val"):
            val, predictions = self.student.evaluate("val")
        self.val_predictions = predictions
        return val, predictions

    def _finish(self, round_index: int, typed: DataGenerationAction, data: RoundData, metrics: TrainMetrics,
                val: EvalReport, timer: _Timer) -> RoundResult:
        """The reward, the episode's end (the last round, or a budget run out: then the test split),
        and the round's result."""
        previous = self._current_val()
        reward = val.accuracy - previous.accuracy
        reward_by_skill = {s: acc - previous.accuracy_by_skill[s] for s, acc in val.accuracy_by_skill.items()}
        self._val, self._round, self._last_reward = val, round_index, reward
        terminated = round_index >= self.max_rounds
        exhausted = () if terminated else tuple(self.ledger.exhausted())
        test = None
        if terminated or exhausted:
            self._done = True
            with timer("eval_test"):
                test, _ = self.student.evaluate("test")
        return RoundResult(
            round=round_index,
            requested=requested_by_skill(data.requests),
            ready_made=len(typed.examples),
            examples_generated=data.made,
            examples_accepted=len(data.accepted),
            accepted_by_skill=dict(sorted(Counter(c.example.skill for c in data.accepted).items())),
            rejected_by_reason=dict(sorted(Counter(r.reason for r in data.rejected).items())),
            train=metrics, val=val, reward=reward, reward_by_skill=reward_by_skill, test=test,
            cost=self.ledger.snapshot(), terminated=terminated, truncated=bool(exhausted), truncated_by=exhausted,
            plan_error=typed.plan_error,
        )

    def _record(self, result: RoundResult, timer: _Timer, state: RoundState, *,
                predictions: list[GradedPrediction], action: DataGenerationAction | None = None,
                data: RoundData | None = None, structure_action: Any = None) -> None:
        if self.recorder is None:
            return
        if result.round > 0:
            self._phase("save", result.round)
        self.recorder.record(result, timer.seconds, predictions=predictions, action=action,
                             accepted=data.accepted if data else (), rejected=data.rejected if data else (),
                             student=self.student if result.round > 0 else None, state=state,
                             structure_action=structure_action, ledger_seconds=self.ledger.seconds)

    @staticmethod
    def _info(state: RoundState, result: RoundResult) -> dict[str, Any]:
        info: dict[str, Any] = {INFO_STATE: state, INFO_ROUND: result}
        if result.test is not None:
            info[INFO_TEST_ACCURACY] = result.test.accuracy
        if result.truncated:
            info[INFO_TRUNCATED_BY] = result.truncated_by
        return info

    def close(self) -> None:
        self.student.close()
        self.workspace.close()
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
        return EnvState(**self.common_state(), val_accuracy_by_skill=self._current_val().accuracy_by_skill,
                        accepted_by_skill=dict(self._accepted_by_skill))

    def common_state(self) -> dict[str, Any]:
        """The fields of ``RoundState`` every structure's state shares."""
        return {
            "round": self._round or 0,
            "max_rounds": self.max_rounds,
            "skills": self.skills,
            "examples_per_round": self.cap,
            "max_per_skill": self.max_per_skill,
            "val_accuracy": self._current_val().accuracy,
            "budget_left": {name: self.ledger.fraction_left(name) for name in BUDGET_NAMES},
            "last_reward": self._last_reward,
        }

    def _begin_teacher_round(self, round_index: int) -> None:
        """Teacher calls from now on (the policy's next decision, then the round's data) belong to
        ``round_index`` in the response cache's key, and the agent's artefacts to that round's folder."""
        if self.teacher is not None:
            self.teacher.begin_round(round_index)
        self.workspace.begin_round(round_index)

    def _current_val(self) -> EvalReport:
        if self._val is None:
            raise EnvStateError("Call reset() first: the environment has no evaluation of the student yet.")
        return self._val

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
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
