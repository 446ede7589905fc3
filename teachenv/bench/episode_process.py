"""The process of one benchmark episode: ``teachenv`` run as a child that dies with its parent.

``python -m teachenv.bench.episode_process PARENT_PID run CONFIG ...`` asks the kernel (Linux
``prctl(PR_SET_PDEATHSIG, SIGKILL)``) to kill it when its parent dies, then runs the ``teachenv``
command line. Its parent is the bench worker thread or the Ray worker that waits for it: if that
worker is killed (a SIGKILL, a lost node), the episode stops too instead of writing on unobserved
while a retry resumes the same run directory (the run directory's writer lock would refuse that
retry; this makes the retry find the lock free). Elsewhere than Linux the child outlives its
parent and the lock alone keeps writers apart.

This module knows process lifetimes, not episodes.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Be killed when the parent dies; exit at once if it is gone already (before the request)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        sys.exit(f"the bench worker (pid {parent_pid}) that started this episode is gone")


def command(args: list[str]) -> list[str]:
    """The command line that runs ``teachenv *args`` as a child of this process."""
    return [sys.executable, "-m", __name__, str(os.getpid()), *args]


if __name__ == "__main__":
    die_with_parent(int(sys.argv[1]))
    # Exec the command line rather than import it (the CLI is the layer above the benchmark); the death
    # signal asked for above survives exec.
    os.execv(sys.executable, [sys.executable, "-m", "teachenv.cli.main", *sys.argv[2:]])
