"""Deterministic crash points, so that tests can kill a run exactly where a real crash could hit it.

``TEACHENV_CRASH_AT=<point>:<round>[:<step>]`` makes the process kill itself with SIGKILL (no
cleanup, no ``finally``, as the kernel's OOM killer or a pre-empted node would) the first time
it reaches that point of that round. Points:

- a phase of a round, as ``TeachingEnv`` announces it: ``generate``, ``verify``, ``train``,
  ``evaluate``, ``save`` (the crash comes as the phase starts: ``verify:2`` is "after round 2's
  generation");
- ``train-step``: inside training, after optimizer step ``<step>`` of round ``<round>``;
- ``record``: while the round is written, after its artifacts and before its episode row.

Without the variable every check is one dictionary lookup. This module knows point names, not
what happens at them.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "TEACHENV_CRASH_AT"

#: The round the run is in, as last announced by a phase (``train-step`` checks use it).
_current_round = 0


def armed(point: str) -> bool:
    """Whether a crash is set for ``point`` (so that callers add hooks only when one is)."""
    return os.environ.get(ENV_VAR, "").split(":", 1)[0] == point


def reached(point: str, round_index: int | None = None, step: int | None = None) -> None:
    """Die here if ``TEACHENV_CRASH_AT`` names this point (and round, and step)."""
    global _current_round
    if round_index is not None:
        _current_round = round_index
    spec = os.environ.get(ENV_VAR)
    if not spec:
        return
    here = [point, str(_current_round)] + ([str(step)] if step is not None else [])
    if spec.split(":") == here:
        os.kill(os.getpid(), signal.SIGKILL)
