"""Writes what an environment does into a run directory: the episode log and per-round artifacts.

The environment calls it after reset and after each round; it decides nothing. When a run resumes,
the rounds it replays are already on disk: they are checked against their record, not rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from teachenv.core.records import (
    DataGenerationAction, GradedPrediction, Record, RejectedExample, RoundResult, TrainingExample,
)
from teachenv.core.run_dir import RunDirectory, atomic_write_json, atomic_write_jsonl
from teachenv.envs.replay import ADAPTER_DIR, RESULT_FILE, EpisodeReplay
from teachenv.student.base import Student


class RunRecorder:
    def __init__(self, run_dir: RunDirectory, replay: EpisodeReplay | None = None) -> None:
        self.run_dir = run_dir
        self.replay = replay

    def start_episode(self) -> None:
        """A reset starts the episode log anew (the run directory holds one episode), unless it resumes."""
        if self.replay is None:
            atomic_write_jsonl(self.run_dir.episode_path, [])

    def record(self, result: RoundResult, timings: dict[str, float], *,
               predictions: Sequence[GradedPrediction] = (),
               action: DataGenerationAction | None = None,
               accepted: Sequence[TrainingExample] = (),
               rejected: Sequence[RejectedExample] = (),
               student: Student | None = None, state: Record | None = None,
               structure_action: Any = None, ledger_seconds: float = 0.0) -> None:
        """Write the round's artifacts first, then its episode row: a row means the round is complete.
        ``state`` is the typed state after the round (``state.json``: the trajectory the teacher saw) and
        ``structure_action`` the action as the agent gave it, where it differs from the typed action.
        ``ledger_seconds`` (the wall seconds the ledger has counted) goes to ``result.json`` with the
        result, for a resume."""
        if self.replay is not None and self.replay.covers(result.round):
            self.replay.check(result)
            return
        folder = self.run_dir.round_dir(result.round)
        if action is not None:
            atomic_write_json(folder / "action.json", action)
        if structure_action is not None:
            atomic_write_json(folder / "agent_action.json", structure_action)
        if state is not None:
            atomic_write_json(folder / "state.json", state)
        if result.round > 0:
            atomic_write_jsonl(folder / "generated.jsonl", accepted)
            atomic_write_jsonl(folder / "rejected.jsonl", rejected)
            atomic_write_json(folder / "train.json", result.train)
        atomic_write_jsonl(folder / "predictions.jsonl", predictions)
        if student is not None and result.round > 0:
            student.save_adapter(folder / ADAPTER_DIR)
        atomic_write_json(folder / RESULT_FILE, {"result": result.model_dump(mode="json"),
                                                 "ledger_seconds": ledger_seconds})
        self.run_dir.append_episode_row(result.episode_row(timings).model_dump(mode="json"))
