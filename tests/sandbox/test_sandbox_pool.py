"""SandboxPool: one sandbox per job, at most `workers` at once, results in order."""

from __future__ import annotations

import threading

import pytest

from teachenv.sandbox import Job, SandboxConfig, SandboxPool, process

pytestmark = pytest.mark.usefixtures("isolated")


def test_the_pool_runs_at_most_workers_sandboxes_at_once(monkeypatch):
    active, peak, lock = 0, 0, threading.Lock()
    real_execute = process.execute

    def counting_execute(*args, **kwargs):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            return real_execute(*args, **kwargs)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(process, "execute", counting_execute)
    pool = SandboxPool(SandboxConfig(workers=2, wall_seconds=20))
    jobs = [Job(program=f"import time\ntime.sleep(0.3)\nprint({k})") for k in range(6)] + ["raise SystemExit(3)"]
    results = pool.run(jobs)
    assert peak == 2
    assert [result.stdout for result in results[:6]] == [f"{k}\n" for k in range(6)]
    assert all(result.status == "passed" for result in results[:6])
    assert results[6].status == "failed" and "exited with 3" in results[6].error
    assert len({result.uid for result in results}) == len(results)  # a fresh uid per run
