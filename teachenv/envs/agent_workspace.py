"""``AgentWorkspace``: where an agent keeps its per-round artefacts (drafts, scores, preference pairs,
adapters, profiles, …), and the one way its memory across rounds survives a resume.

A resumed run replays its finished rounds (``teachenv.envs.replay``): the agent's code runs again from
the start of the episode with the same seeds, so whatever it remembers is rebuilt by running, not
loaded. What is expensive or not repeatable — a student's forward passes to score data, a DPO run of
the teacher, any call whose result depends on the student's weights at that round (a replayed
student does not have them) — goes through a *memo*:

- in a round being computed, ``compute`` runs and its result is written to
  ``rounds/<k>/agent/<name>`` (atomically), with what it cost;
- in a replayed round, the artefact is read back and ``compute`` is **not** called; the costs it
  counted (ledger tokens, dollars, named work) are counted again, and the teacher's response-cache
  position moves past the calls it made, so the calls after it keep their places.

So an agent that routes every such result through its workspace needs no save/load code: replay
gives it back its state. Rules for ``compute``: it may call the teacher and the student and count
work in the ledger; it must not draw from a random generator that outlives it (draw a seed before
the memo and pass it in), or a replay would leave that generator elsewhere.

Artefacts of a round are written before the round's row in ``episode.jsonl``; a round killed before
its row is deleted whole on resume (``RunDirectory.prepare_resume``), its artefacts with it.
Without a run directory (``gymnasium.make`` in memory) artefacts go to a temporary folder, removed
at ``close``. This module knows the run-directory layout, the replay, the ledger and the response
cache's position; it knows no agent.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from teachenv.core.errors import RunDirectoryError
from teachenv.core.ledger import CostDelta, CostLedger
from teachenv.core.run_dir import RunDirectory, atomic_write_json, atomic_write_jsonl, read_jsonl

AGENT_DIR = "agent"
_COST_SUFFIX = ".cost.json"

T = TypeVar("T")


class AgentWorkspace:
    """An episode's agent artefacts, round by round. The environment moves it (``begin_round``)."""

    def __init__(self, run_dir: RunDirectory | None, ledger: CostLedger, *, replayed_rounds: int = 0,
                 teacher: Any = None) -> None:
        self._run_dir = run_dir
        self._temporary: Path | None = None
        self.ledger = ledger
        #: The teacher behind the response cache (its position is moved past a memo's calls on replay).
        self.teacher = teacher
        #: Rounds 1..replayed_rounds are read back, not computed (a resumed run's finished rounds).
        self.replayed_rounds = replayed_rounds
        #: The round whose data the agent is preparing (0 before the first ``begin_round``).
        self.round = 0
        #: transformers ``TrainerCallback``s that join every training the agent runs itself (e.g. its
        #: teacher's DPO); installed from outside, like the student's.
        self.trainer_callbacks: list[Any] = []

    @property
    def run_dir(self) -> RunDirectory:
        """The episode's run directory, or (in memory) a temporary one made at first use."""
        if self._run_dir is None:
            self._temporary = Path(tempfile.mkdtemp(prefix="teachenv-agent-"))
            self._run_dir = RunDirectory(self._temporary)
        return self._run_dir

    def begin_round(self, round_index: int) -> None:
        """The agent's work from now on (its next decision and that round's data) belongs to ``round_index``."""
        self.round = round_index

    @property
    def replaying(self) -> bool:
        """Whether the current round is a finished one being replayed: memos read back, nothing is computed."""
        return 0 < self.round <= self.replayed_rounds

    def folder(self, round_index: int | None = None) -> Path:
        """``rounds/<k>/agent/`` of the current round (or of ``round_index``), created on demand."""
        path = self.run_dir.round_dir(self.round if round_index is None else round_index) / AGENT_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- memos -----------------------------------------------------------------------------------
    def memo_json(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()`` (JSON-able), written to ``<name>.json``, returned as read back from it (so a computed
        and a replayed round see the same value: lists for tuples, string keys)."""
        return self._memo(name + ".json", compute, write=atomic_write_json,
                          read=lambda path: json.loads(path.read_text(encoding="utf-8")))

    def memo_jsonl(self, name: str, compute: Callable[[], list[Any]]) -> list[Any]:
        """``compute()`` (a list of JSON-able rows), written to ``<name>.jsonl``; read back in a replayed round."""
        return self._memo(name + ".jsonl", compute, write=atomic_write_jsonl, read=read_jsonl)

    def memo_dir(self, name: str, build: Callable[[Path], None]) -> Path:
        """A folder ``<name>/`` that ``build(path)`` fills (e.g. a saved adapter), built under a temporary
        name and renamed when complete; in a replayed round the existing folder, ``build`` not called."""

        def compute() -> Path:
            final = self.folder() / name
            partial = final.with_name(f".{name}.tmp")
            shutil.rmtree(partial, ignore_errors=True)
            build(partial)
            shutil.rmtree(final, ignore_errors=True)
            partial.rename(final)
            return final

        return self._memo(name, compute, write=lambda path, value: None, read=lambda path: path)

    def write_json(self, name: str, data: Any) -> Path:
        """A plain artefact for people to read (``<name>.json``): written when computing, never read back."""
        path = self.folder() / f"{name}.json"
        if not self.replaying:
            atomic_write_json(path, data)
        return path

    def _memo(self, filename: str, compute: Callable[[], T], *, write: Callable[[Path, Any], None],
              read: Callable[[Path], Any]) -> T:
        path = self.folder() / filename
        cost_path = path.with_name(path.name + _COST_SUFFIX)
        if self.replaying:
            if not path.exists() or not cost_path.exists():
                raise RunDirectoryError(
                    f"Resuming {str(self.run_dir.root)!r}: round {self.round} finished, but the agent's artefact "
                    f"{str(path)!r} is missing, so the agent's state cannot be rebuilt. Was the agent changed? "
                    "Start the run again with --overwrite."
                )
            spent = json.loads(cost_path.read_text(encoding="utf-8"))
            self.ledger.apply(CostDelta.model_validate(spent["cost"]))
            if self.teacher is not None:
                self.teacher.call_index += int(spent["teacher_calls"])
            return read(path)
        mark = self.ledger.mark()
        calls_before = self.teacher.call_index if self.teacher is not None else 0
        value = compute()
        calls = (self.teacher.call_index - calls_before) if self.teacher is not None else 0
        write(path, value)
        atomic_write_json(cost_path, {"cost": self.ledger.since(mark).model_dump(mode="json"), "teacher_calls": calls})
        return read(path)  # what a replay will read: the same value on both paths (JSON's lists, string keys)

    def close(self) -> None:
        """Remove the temporary folder of an in-memory episode (a run directory is kept)."""
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._run_dir = self._temporary = None
