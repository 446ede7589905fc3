"""Run one episode of a config: agent policy against its environment, writing the run directory.

This is what ``teachenv run`` does; it is a function so that tests and the benchmark runner call
the same code. It knows the policy loop and the run summary, not how a round works.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from teachenv.core.config import RunConfig, dump_config, recorded_config_text
from teachenv.core.records import RoundResult
from teachenv.core.run_dir import RunDirectory, atomic_write_json
from teachenv.core.run_summary import RunSummary
from teachenv.engines.cached_backend import CacheStats
from teachenv.envs.teaching_env import INFO_ROUND, INFO_STATE

if TYPE_CHECKING:
    from teachenv.envs.replay import EpisodeReplay


@dataclass
class EpisodeOutcome:
    run_dir: RunDirectory
    first: RoundResult
    last: RoundResult
    seconds: float
    peak_memory_mb: float
    #: The teacher's response-cache hits / misses and newly paid tokens (None without a teacher).
    teacher_calls: dict[str, int] | None = None
    #: The last finished round a resumed run continued from (None: it ran in one go).
    resumed_from: int | None = None
    #: True when a resume found the run already finished (nothing ran).
    already_finished: bool = False


def peak_memory_mb() -> float:
    """Peak resident memory of this process and its finished children, in MiB (Linux: KiB units)."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024**2
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * scale


def run_episode(config: RunConfig, run_dir: RunDirectory, *, overwrite: bool = False, resume: bool = False,
                on_phase: Callable[[str, int], None] | None = None,
                on_round: Callable[[RoundResult], None] | None = None, progress: bool = False,
                trainer_callbacks: Sequence[Any] = (), agent_trainer_callbacks: Sequence[Any] = ()) -> EpisodeOutcome:
    """Run the episode into ``run_dir``. With ``resume``, a run already there continues from its last
    finished round (see ``teachenv.envs.replay``; a finished run is returned as it is), and an empty
    directory starts afresh. ``trainer_callbacks`` (transformers ``TrainerCallback``s) join every
    round's training, ``agent_trainer_callbacks`` every training the agent runs itself (teacher DPO).
    Holds the run directory's writer lock from its first write on (a resume's clean-up, or a fresh run's
    config.yaml, written once everything is built): a second writer stops with a ``RunDirectoryError``
    naming this one, and a config error takes no lock and leaves no directory."""
    with ExitStack() as lock:
        return _run_episode(config, run_dir, lock, overwrite=overwrite, resume=resume, on_phase=on_phase,
                            on_round=on_round, progress=progress, trainer_callbacks=trainer_callbacks,
                            agent_trainer_callbacks=agent_trainer_callbacks)


def _run_episode(config: RunConfig, run_dir: RunDirectory, lock: ExitStack, *, overwrite: bool, resume: bool,
                 on_phase: Callable[[str, int], None] | None, on_round: Callable[[RoundResult], None] | None,
                 progress: bool, trainer_callbacks: Sequence[Any],
                 agent_trainer_callbacks: Sequence[Any]) -> EpisodeOutcome:
    import gymnasium

    import teachenv  # noqa: F401  (registers the environment ids)
    from teachenv.agents.base import build_policy
    from teachenv.envs.registration import check_env_id
    from teachenv.envs.replay import EpisodeReplay

    started = time.perf_counter()
    check_env_id(config.env.id)
    replay = None
    locked = resume and run_dir.root.exists()  # a resume may clean up what a killed run left: hold it first
    if locked:
        lock.enter_context(run_dir.writer_lock())
    recorded = run_dir.config_path.read_text(encoding="utf-8") if resume and run_dir.config_path.exists() else ""
    if resume and run_dir.prepare_resume(recorded_config_text(recorded, config)):
        replay = EpisodeReplay(run_dir)
        if run_dir.summary_path.exists():
            return finished_outcome(run_dir, replay)
    else:
        run_dir.refuse_existing(overwrite=overwrite)
    # Everything is built before a fresh run directory is created: a config error found while building
    # (a model path, a data source, a missing teacher) leaves nothing behind.
    env = gymnasium.make(config.env.id, config=config, run_dir=run_dir, on_phase=on_phase, progress=progress,
                         replay=replay)
    if trainer_callbacks:
        env.unwrapped.student.trainer_callbacks.extend(trainer_callbacks)
    if agent_trainer_callbacks:
        env.unwrapped.workspace.trainer_callbacks.extend(agent_trainer_callbacks)
    try:
        policy = build_policy(config.agent.policy)
        policy.attach(env.unwrapped)
        if replay is None:
            if not locked:  # a fresh run: held from its first file on
                lock.enter_context(run_dir.writer_lock())
            run_dir.create(dump_config(config), overwrite=overwrite)
        policy.reset(config.seed)
        _, info = env.reset(seed=config.seed)
        first = last = info[INFO_ROUND]
        if on_round:
            on_round(first)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(policy.act(info[INFO_STATE]))
            last = info[INFO_ROUND]
            if on_round:
                on_round(last)
            done = terminated or truncated
        teacher = env.unwrapped.teacher
        teacher_calls = teacher.stats.as_dict() if teacher is not None else None
    finally:
        env.close()
    seconds = time.perf_counter() - started
    if replay is not None:  # the finished rounds' seconds, as the crashed run counted them
        seconds += replay.ledger_seconds(replay.rounds)
    outcome = EpisodeOutcome(run_dir, first, last, seconds, peak_memory_mb(), teacher_calls,
                             resumed_from=None if replay is None else replay.rounds)
    atomic_write_json(run_dir.summary_path, summary(outcome))
    return outcome


def finished_outcome(run_dir: RunDirectory, replay: EpisodeReplay) -> EpisodeOutcome:
    """The outcome of a run that already finished, from its files."""
    done = RunSummary.read(run_dir.summary_path)
    return EpisodeOutcome(run_dir, replay.result(0), replay.result(replay.rounds), done.seconds,
                          done.peak_memory_mb, done.teacher_calls, resumed_from=done.resumed_from,
                          already_finished=True)


def summary(outcome: EpisodeOutcome) -> RunSummary:
    # A zero count without a teacher: no call was made.
    calls = outcome.teacher_calls if outcome.teacher_calls is not None else CacheStats().as_dict()
    return RunSummary.of(outcome.first, outcome.last, seconds=outcome.seconds, peak_memory_mb=outcome.peak_memory_mb,
                         teacher_calls=calls, resumed_from=outcome.resumed_from)
