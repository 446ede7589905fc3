"""Reads a `RawRun`: which isolation layers the launcher verified, and why the interpreter ended.

The launcher's status pipe is trusted (closed on exec: no item process ever holds it); so is the
harness's result pipe (only the zygote writes it, and no answer or judge process holds it), but a
verdict from it never overrides a kill by a limit. This module knows the
launcher's status events and the limits of a config, not how processes are started.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from teachenv.sandbox.process import RawRun
from teachenv.sandbox.results import Isolation, Mode, Status

# Text an interpreter dying of allocation failure leaves on stderr (MemoryError outside the
# harness's reach, or a fatal "Cannot allocate memory" from the C level).
_MEMORY_MARKS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc")


@dataclass(frozen=True)
class Ending:
    """How one sandbox run ended, before any harness verdict is considered."""

    isolation: Isolation
    exit_code: int | None
    signal: int | None
    setup_error: str | None
    """Set when the sandbox never ran the program (launcher or pre-exec failure): a sandbox-error."""
    limit_error: tuple[Status, str] | None
    """Set when a limit ended the run (the wall clock, a watchdog, the CPU rlimit) or the
    interpreter died without a verdict: the status and message to report."""


def _events(raw: RawRun, kind: str) -> list[dict]:
    return [event for event in raw.status.json_lines() if event.get("event") == kind]


def read_isolation(raw: RawRun, mode: Mode) -> Isolation:
    setup, started = _events(raw, "setup"), _events(raw, "exec")
    layers: dict[str, bool] = {}
    if setup:
        layers.update({k: bool(v) for k, v in setup[0].get("isolation", {}).items() if k in Isolation.model_fields})
    if started:
        layers.update(uid_drop=bool(started[0].get("uid_drop")), rlimits=bool(started[0].get("rlimits")))
    if mode == "weak":  # the launcher checks no namespaces there; say so whatever it reported
        layers.update(pid_ns=False, net_ns=False, mount_ns=False, ipc_ns=False, tmpfs=False, readonly_root=False)
    return Isolation(**layers)


def _death(raw: RawRun, exit_code: int | None, sig: int | None, cpu_s: float, cpu_limit: float) -> tuple[Status, str]:
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= cpu_limit):
        return "timeout", f"the CPU limit of {cpu_limit:g} s ran out (signal {sig})"
    stderr = raw.stderr.text()
    if any(mark in stderr for mark in _MEMORY_MARKS):
        return "memory", f"the interpreter ran out of memory ({_how(exit_code, sig)})"
    return "crashed", f"the interpreter {_how(exit_code, sig)} before the harness reported"


def _how(exit_code: int | None, sig: int | None) -> str:
    if sig is not None:
        try:
            return f"was killed by signal {sig} ({signal.Signals(sig).name})"
        except ValueError:
            return f"was killed by signal {sig}"
    return f"exited with code {exit_code}"


def read_ending(raw: RawRun, mode: Mode, *, wall_seconds: float, cpu_limit: float, stall_seconds: float | None = None) -> Ending:
    isolation = read_isolation(raw, mode)
    exits = _events(raw, "exit")
    exit_code = exits[0].get("exit_code") if exits else None
    sig = exits[0].get("signal") if exits else None
    setup_error = raw.launch_error
    errors = _events(raw, "error")
    if setup_error is None and errors:
        setup_error = f"sandbox setup failed at {errors[0].get('stage')}: {errors[0].get('message')}"
    limit: tuple[Status, str] | None = None
    if setup_error is None:
        if raw.killed == "wall":
            limit, sig, exit_code = ("timeout", f"the wall-clock limit of {wall_seconds:g} s ran out"), signal.SIGKILL, None
        elif raw.killed == "stalled":
            message = f"no verdict for {stall_seconds:g} s: the item ignored its time limit"
            limit, sig, exit_code = ("timeout", message), signal.SIGKILL, None
        elif _events(raw, "backstop"):
            seconds = _events(raw, "backstop")[0].get("seconds")
            limit, sig, exit_code = ("timeout", f"the sandbox's own backstop timer ({seconds} s) ended the run"), signal.SIGKILL, None
        elif not exits:
            setup_error = "the launcher ended without reporting the interpreter's exit"
        elif sig is not None or exit_code != 0:
            limit = _death(raw, exit_code, sig, float(exits[0].get("cpu_s") or 0.0), cpu_limit)
        elif not raw.results.json_lines():
            limit = _death(raw, exit_code, sig, 0.0, cpu_limit)
    if setup_error is not None and raw.stderr.data:
        setup_error += f"; launcher stderr: {raw.stderr.text()[-500:]}"
    return Ending(isolation, exit_code, sig, setup_error, limit)
