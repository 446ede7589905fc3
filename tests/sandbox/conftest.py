"""Fixtures of the sandbox tests: a hard per-test time limit, the isolated mode or a skip, and
a check that no process of a run survives it."""

from __future__ import annotations

import time

import psutil
import pytest

from teachenv.sandbox import SandboxConfig, probe
from timebox import time_box

HARD_LIMIT_S = 60  # per test; every sandbox run in these tests has a far shorter wall clock


@pytest.fixture(autouse=True)
def hard_time_limit():
    """Fail (never hang) a test that runs past HARD_LIMIT_S, whatever it is blocked on."""

    def fail(seconds: float) -> None:
        pytest.fail(f"the test ran past its hard limit of {seconds} s")

    with time_box(HARD_LIMIT_S, fail):
        yield


@pytest.fixture(scope="session")
def isolated() -> None:
    """Skip unless OS isolation works here (it does as root with util-linux, as in CI)."""
    report = probe.probe_isolation(probe.resolve_python(None))
    if not report.available:
        pytest.skip(f"OS isolation unavailable: {report.reason}")


@pytest.fixture
def tight() -> SandboxConfig:
    """Small limits for hostile programs: they hit a limit fast, and a slow CI machine still passes."""
    return SandboxConfig(
        cpu_seconds=2, wall_seconds=5, memory_mb=256, max_processes=32, max_file_mb=8, tmpfs_mb=16,
        tmpfs_inodes=512, max_output_bytes=4096, item_seconds=1,
    )


@pytest.fixture
def processes_of():
    """Processes on this machine running as a given uid (a sandbox's uid is fresh per run)."""

    def live(uid: int) -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter(["uids", "status"]):
            uids, status = process.info.get("uids"), process.info.get("status")
            if uids is not None and uid in (uids.real, uids.effective, uids.saved) and \
                    status not in (psutil.STATUS_DEAD, psutil.STATUS_ZOMBIE):
                found.append(process)
        return found

    def find(uid: int, settle_s: float = 3.0) -> list[psutil.Process]:
        """The live ones, after letting processes the kernel is already tearing down (a killed namespace's
        last members, 'dead' for a moment on a loaded machine) finish exiting."""
        deadline = time.monotonic() + settle_s
        while True:
            found = live(uid)
            if not found or time.monotonic() >= deadline:
                return found
            time.sleep(0.1)

    return find
