"""`run_program`: one untrusted program and its tests in one sandbox run, as a typed `RunResult`.

Owns the sequence select mode → spec → execute → read the ending → verdict; `sandbox_run` is
the shared first half that the batch mode reuses. The mechanics live in `process` (parent) and
`launcher` / `harness` (inside); a single program is graded as a batch of one whose output is
the run's own. This module knows what a verdict means, not how isolation works.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from teachenv.sandbox import outcome, probe, process
from teachenv.sandbox.config import SandboxConfig
from teachenv.sandbox.results import Job, Mode, RunResult, Status

_STATUSES = frozenset(get_args(Status))


@dataclass(frozen=True)
class SandboxRun:
    raw: process.RawRun
    ending: outcome.Ending
    uid: int | None


@contextlib.contextmanager
def _workdir(mode: Mode) -> Iterator[str]:
    if mode == "isolated":  # inside the sandbox's own tmpfs: nothing to make or clean here
        yield process.ISOLATED_WORKDIR
        return
    with tempfile.TemporaryDirectory(prefix="teachenv-sandbox-", ignore_cleanup_errors=True) as path:
        yield path


def sandbox_run(
    config: SandboxConfig,
    mode: Mode,
    python: str,
    harness_mode: Literal["single", "batch"],
    job: dict,
    *,
    cpu_seconds: float | None = None,
    stall_seconds: float | None = None,
) -> SandboxRun:
    """One launch of the sandbox on a harness job, read back but not yet judged."""
    uid = process.sandbox_uid(config) if mode == "isolated" or os.geteuid() == 0 else None
    cpu_limit = math.ceil(cpu_seconds if cpu_seconds is not None else config.cpu_seconds)
    with _workdir(mode) as workdir:
        spec = process.build_spec(config, mode, python, harness_mode, job, workdir=workdir, uid=uid, cpu_seconds=cpu_limit)
        raw = process.execute(
            process.launcher_argv(mode), spec, wall_seconds=config.wall_seconds,
            output_cap=config.max_output_bytes, stall_seconds=stall_seconds,
        )
    ending = outcome.read_ending(
        raw, mode, wall_seconds=config.wall_seconds, cpu_limit=cpu_limit, stall_seconds=stall_seconds
    )
    return SandboxRun(raw, ending, uid if ending.isolation.uid_drop else None)


def read_verdict(record: Mapping[str, object]) -> tuple[Status, int | None, str | None] | None:
    """A harness verdict checked for shape; None if malformed (only the harness's zygote writes
    the result pipe, so a malformed line means the harness itself broke)."""
    status, failed, error = record.get("status"), record.get("failed_test"), record.get("error")
    if status not in _STATUSES:
        return None
    if not (failed is None or (isinstance(failed, int) and not isinstance(failed, bool))):
        return None
    if not (error is None or isinstance(error, str)):
        return None
    return status, failed, error  # type: ignore[return-value]


def run_job(job: Job, config: SandboxConfig, mode: Mode, python: str) -> RunResult:
    """`run_program` once the mode is chosen (the pool chooses it once for all its jobs)."""
    run = sandbox_run(config, mode, python, "single", {"program": job.program, "tests": list(job.tests)})
    raw, ending = run.raw, run.ending
    failed_test, exit_code, sig = None, ending.exit_code, ending.signal
    records = [record for record in raw.results.json_lines() if record.get("index") == 0]
    if ending.setup_error is not None:
        status, error = "sandbox-error", ending.setup_error
    elif ending.limit_error is not None:
        status, error = ending.limit_error
    else:
        verdict = read_verdict(records[0]) if records else None
        if verdict is None:
            status, error = "crashed", "the harness's verdict was malformed"
        else:
            status, failed_test, error = verdict
            if records[0].get("exit_code") is not None or records[0].get("signal") is not None:
                exit_code, sig = records[0].get("exit_code"), records[0].get("signal")  # the answer's own end
    return RunResult(
        status=status, failed_test=failed_test, error=error, duration_s=round(raw.duration_s, 4),
        exit_code=exit_code, signal=sig,
        stdout=raw.stdout.text(), stderr=raw.stderr.text(),
        stdout_truncated=raw.stdout.truncated, stderr_truncated=raw.stderr.truncated,
        mode=mode, isolation=ending.isolation, uid=run.uid,
    )


def run_program(
    program: str,
    tests: Sequence[str] = (),
    config: SandboxConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> RunResult:
    """Run untrusted `program`, then each test snippet in its namespace, in a fresh sandbox.

    Raises `SandboxUnavailableError` only when isolation is unavailable and the weak mode was not
    opted in to (`environ` defaults to ``os.environ``, read for ``TEACHENV_SANDBOX``); everything
    the program does is reported in the result.
    """
    config = config or SandboxConfig()
    mode, python = probe.select_mode(config, environ)
    return run_job(Job(program=program, tests=tuple(tests)), config, mode, python)
