"""Resuming an episode: its finished rounds are replayed, not recomputed, from its run directory.

A resumed run builds the same environment and policy from the same config and seed and steps
through the finished rounds again, so that every piece of state — the environment's RNG, the
policy's, the engine's, the verifier's duplicate set, the structure's bookkeeping, the response
cache's place in the episode — ends up exactly where the crashed run left it, with no component
having to save or load anything of its own. Only what is expensive or not repeatable is read
back instead of redone:

- the student's evaluations (``rounds/<k>/result.json``, ``predictions.jsonl``) and training,
  whose adapter is loaded from the last finished round (``ReplayingStudent``);
- the wall seconds the ledger had counted (a seconds budget ends the episode where it would have).

Teacher calls are answered by the response cache, so the replay pays for none. Each replayed
round is compared with its record: a difference means something in the run is not deterministic
and is reported as an error rather than resumed into a mixed episode.

This module knows the run directory's round files and the ``Student`` interface, not how a round
is computed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from teachenv.core.errors import RunDirectoryError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import EvalReport, GradedPrediction, RoundResult, TrainingExample, TrainMetrics
from teachenv.core.run_dir import RunDirectory, read_jsonl
from teachenv.student.base import Student
from teachenv.tasks.base import EvalSplit

RESULT_FILE = "result.json"
ADAPTER_DIR = "adapter"


class EpisodeReplay:
    """Rounds ``0..rounds`` of a run directory, as recorded."""

    def __init__(self, run_dir: RunDirectory) -> None:
        self.run_dir = run_dir
        rows = run_dir.episode_rows()
        if [row.get("round") for row in rows] != list(range(len(rows))):
            raise RunDirectoryError(f"{str(run_dir.episode_path)!r} does not hold rounds 0, 1, 2, … in order; "
                                    "it cannot be resumed (start again with --overwrite).")
        #: The last finished round (0: only the reset).
        self.rounds = len(rows) - 1
        records = [self._read(k) for k in range(len(rows))]
        self._results = [RoundResult.model_validate(record["result"]) for record in records]
        self._ledger_seconds = [float(record["ledger_seconds"]) for record in records]

    def _read(self, round_index: int) -> dict[str, Any]:
        path = self.run_dir.round_dir(round_index) / RESULT_FILE
        if not path.is_file():
            raise RunDirectoryError(
                f"{str(path)!r} is missing: this run directory was written by an older teachenv, or by hand, and "
                "cannot be resumed. Start it again with --overwrite."
            )
        return json.loads(path.read_text(encoding="utf-8"))

    def covers(self, round_index: int) -> bool:
        return round_index <= self.rounds

    def result(self, round_index: int) -> RoundResult:
        return self._results[round_index]

    def ledger_seconds(self, round_index: int) -> float:
        return self._ledger_seconds[round_index]

    def evaluation(self, round_index: int, split: EvalSplit) -> tuple[EvalReport, list[GradedPrediction]]:
        result = self.result(round_index)
        report = result.val if split == "val" else result.test
        if report is None:
            raise RunDirectoryError(f"Round {round_index} of {str(self.run_dir.root)!r} recorded no {split} evaluation.")
        if split != "val":
            return report, []
        rows = read_jsonl(self.run_dir.round_dir(round_index) / "predictions.jsonl")
        return report, [GradedPrediction.model_validate(row) for row in rows]

    def adapter(self, round_index: int) -> Path | None:
        path = self.run_dir.round_dir(round_index) / ADAPTER_DIR
        return path if path.is_dir() else None

    def check(self, result: RoundResult) -> None:
        """Raise if the replayed round differs from the recorded one (naming the first field that does)."""
        recorded = self.result(result.round)
        if result == recorded:
            return
        now, then = result.model_dump(mode="json"), recorded.model_dump(mode="json")
        field = next(k for k in then if now.get(k) != then.get(k))
        raise RunDirectoryError(
            f"Resuming {str(self.run_dir.root)!r}: round {result.round} replayed differently from its record "
            f"({field}: recorded {then[field]!r}, replayed {now[field]!r}). Something in this run is not "
            "deterministic for its seed (a teacher without the response cache, a changed task or agent); "
            "start it again with --overwrite."
        )


def count_round_seconds(ledger: CostLedger, round_index: int, seconds: float, replay: EpisodeReplay | None) -> None:
    """Count a round's wall ``seconds`` into the ledger; a replayed round sets the count the crashed run
    had after it instead (the replay's own seconds are not the episode's), so that a seconds budget
    ends the resumed episode where it would have."""
    if replay is not None and replay.covers(round_index):
        ledger.seconds = replay.ledger_seconds(round_index)
    else:
        ledger.add_seconds(seconds)


class ReplayingStudent(Student):
    """``student`` behind a replay: during the recorded rounds its evaluations and training are read
    back (the adapter of the last recorded round is loaded); afterwards every call goes through."""

    def __init__(self, student: Student, replay: EpisodeReplay) -> None:
        self.inner = student
        self.replay = replay
        self._round = 0

    def __getattr__(self, name: str) -> Any:  # anything beyond the interface (e.g. pass_at_k)
        return getattr(self.inner, name)

    def reset(self, seed: int) -> None:
        self._round = 0
        self.inner.reset(seed)

    def train(self, examples: Sequence[TrainingExample], seed: int) -> TrainMetrics:
        self._round += 1
        if not self.replay.covers(self._round):
            return self.inner.train(examples, seed)
        last = self._round == self.replay.rounds
        self.inner.restore(examples, self.replay.adapter(self._round) if last else None)
        metrics = self.replay.result(self._round).train
        assert metrics is not None  # every recorded round > 0 trained (possibly on nothing)
        return metrics

    def evaluate(self, split: EvalSplit) -> tuple[EvalReport, list[GradedPrediction]]:
        if self.replay.covers(self._round):
            return self.replay.evaluation(self._round, split)
        return self.inner.evaluate(split)

    def restore(self, examples: Sequence[TrainingExample], adapter: Path | None) -> None:
        self.inner.restore(examples, adapter)

    def save_adapter(self, path: Path) -> None:
        self.inner.save_adapter(path)

    def close(self) -> None:
        self.inner.close()
