"""Deterministic crash points for ``teachenv run``, so that tests can kill a run exactly where a real
crash could hit it.

``TEACHENV_CRASH_AT=<point>:<round>[:<step>]`` makes the ``run`` command kill its own process with
SIGKILL (no cleanup, no ``finally``, as the kernel's OOM killer or a pre-empted node would) the
first time the run reaches that point of that round. Points:

- a phase of a round, as the environment announces it through ``on_phase``: ``generate``,
  ``verify``, ``train``, ``evaluate``, ``save`` (the crash comes as the phase starts: ``verify:2``
  is "after round 2's generation");
- ``train-step``: inside training, after optimizer step ``<step>`` of round ``<round>`` (a
  transformers ``TrainerCallback`` the student adds to its trainer);
- ``dpo-step``: inside an agent's own training (the teacher's DPO), after its optimizer step ``<step>``
  of round ``<round>`` (a ``TrainerCallback`` in the agent workspace's ``trainer_callbacks``);
- ``record``: while the round is written, after its artifacts and before its episode row (the run
  directory's row write).

Everything is installed from outside the library, through the hooks a run already has (the phase
callback, the student's and the agent workspace's trainer callbacks, the run directory it writes
through); the library has no test-only branch. This module knows point names and those three hooks, not what a round does.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teachenv.core.errors import ConfigError
from teachenv.core.run_dir import RunDirectory

ENV_VAR = "TEACHENV_CRASH_AT"
PHASES = ("generate", "verify", "train", "evaluate", "save")
STEP_POINTS = ("train-step", "dpo-step")
POINTS = (*PHASES, *STEP_POINTS, "record")

PhaseCallback = Callable[[str, int], None]


def die() -> None:
    """SIGKILL this process: nothing after it runs, as after an OOM kill."""
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class CrashPoint:
    """One point of one round (and, for ``train-step``, one optimizer step) where the run dies."""

    point: str
    round: int
    step: int | None = None
    #: The round the run is in, as last announced by a phase (the trainer callback reads it).
    current_round: int = 0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> CrashPoint | None:
        """The crash point ``TEACHENV_CRASH_AT`` names, or None when it is unset or empty."""
        spec = (os.environ if environ is None else environ).get(ENV_VAR, "")
        return cls.parse(spec) if spec else None

    @classmethod
    def parse(cls, spec: str) -> CrashPoint:
        parts = spec.split(":")
        point, numbers = parts[0], parts[1:]
        needed = 2 if point in STEP_POINTS else 1
        if point not in POINTS or len(numbers) != needed or not all(n.isdigit() for n in numbers):
            shape = f"{point}:<round>:<step>" if point in STEP_POINTS else "<point>:<round>"
            raise ConfigError(f"{ENV_VAR}={spec!r} is not a crash point: write {shape}, with <point> one of "
                              f"{', '.join(POINTS)} (or unset {ENV_VAR}).")
        return cls(point, int(numbers[0]), int(numbers[1]) if point in STEP_POINTS else None)

    def on_phase(self, then: PhaseCallback | None = None) -> PhaseCallback:
        """A phase callback that dies at this point's phase (then calls ``then``, e.g. the progress display)."""

        def phase(name: str, round_index: int) -> None:
            self.current_round = round_index
            if (name, round_index) == (self.point, self.round):
                die()
            if then is not None:
                then(name, round_index)

        return phase

    def trainer_callbacks(self) -> list[Any]:
        """The student's trainer callback for a ``train-step`` point (none for the others)."""
        return self._step_callbacks("train-step")

    def agent_trainer_callbacks(self) -> list[Any]:
        """The agent's trainer callback (teacher DPO) for a ``dpo-step`` point (none for the others)."""
        return self._step_callbacks("dpo-step")

    def _step_callbacks(self, point: str) -> list[Any]:
        if self.point != point:
            return []
        from transformers import TrainerCallback

        crash = self

        class DieAfterStep(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                if (crash.current_round, state.global_step) == (crash.round, crash.step):
                    die()

        return [DieAfterStep()]

    def run_directory(self, root: str | Path) -> RunDirectory:
        """A run directory that dies, for a ``record`` point, just before that round's episode row."""
        return _DyingRunDirectory(root, self.round) if self.point == "record" else RunDirectory(root)


class _DyingRunDirectory(RunDirectory):
    """Writes like any run directory, except that round ``round``'s episode row is never written."""

    def __init__(self, root: str | Path, round_index: int) -> None:
        super().__init__(root)
        self.dying_round = round_index

    def append_episode_row(self, row: dict[str, Any]) -> None:
        if row.get("round") == self.dying_round:
            die()
        super().append_episode_row(row)
