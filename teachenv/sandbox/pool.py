"""`SandboxPool`: many programs, each in its own sandbox run, at most `workers` at once.

Threads launch the sandboxes (each thread waits on one subprocess, so the GIL is no bottleneck);
the mode is chosen once for the whole pool. For many small items graded alike, `run_batch` is
far cheaper (its items are just as isolated from each other); the pool is for programs that each
need a whole run: their own network namespace and wall clock. This module knows scheduling only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from teachenv.sandbox import probe, runner
from teachenv.sandbox.config import SandboxConfig
from teachenv.sandbox.results import Job, RunResult


class SandboxPool:
    """Runs jobs in parallel sandboxes; results in the order of the jobs."""

    def __init__(self, config: SandboxConfig | None = None, *, environ: Mapping[str, str] | None = None) -> None:
        self.config = config or SandboxConfig()
        self.mode, self.python = probe.select_mode(self.config, environ)

    def run(self, jobs: Iterable[Job | str]) -> list[RunResult]:
        """Run each job (a `Job`, or a program without tests) in a fresh sandbox."""
        jobs = [job if isinstance(job, Job) else Job(program=job) for job in jobs]
        with ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="sandbox") as executor:
            return list(executor.map(lambda job: runner.run_job(job, self.config, self.mode, self.python), jobs))
