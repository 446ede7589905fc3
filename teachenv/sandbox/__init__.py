"""Run untrusted Python (model-written code and its tests) isolated by the operating system.

Each run gets new PID, network, mount and IPC namespaces (``unshare``), a read-only root, a
scrubbed environment, capped output and a hard wall-clock kill. Inside, every program (every item
of a batch) gets its own PID, mount and IPC namespaces, a fresh size-capped tmpfs as /tmp and
working directory, and two unprivileged uids without capabilities, each with rlimits: one runs the
program, the other its tests, which call the program through plain-data messages, so that no
program can write its own verdict or outlive its item. Results are typed (`RunResult`,
`BatchResult`) and say which layers were active. Where namespaces are unavailable
it refuses to run unless the weak mode is opted in to (``SandboxConfig(allow_weak=True)`` or
``TEACHENV_SANDBOX=weak``).

    from teachenv.sandbox import run_program, run_batch
    run_program("def f(x): return 2 * x", ["assert f(2) == 4"]).status            # 'passed'
    run_batch([("def f(x): return x", ["assert f(1) == 1"])] * 1000).items[0].status

Modules: `config` (limits), `results` (records), `probe` (can we isolate? which interpreter?),
`process` (spawn, caps, wall clock), `launcher` (the sandbox's init, inside), `harness` (the
zygote and each item's init, inside), `answer` / `judge` (the program's and the tests' processes,
inside), `wire` (plain data between them), `privileges` (mounts, rlimits, uids), `outcome` (why a
run ended), `runner` (one program), `batch` (many items per run), `pool` (many runs at once).
"""

from teachenv.sandbox.batch import run_batch
from teachenv.sandbox.config import SandboxConfig
from teachenv.sandbox.errors import WEAK_MODE_ENV, SandboxUnavailableError, SandboxWeakModeWarning
from teachenv.sandbox.pool import SandboxPool
from teachenv.sandbox.probe import ProbeReport, probe_isolation
from teachenv.sandbox.results import BatchResult, Isolation, ItemResult, Job, Mode, RunResult, Status
from teachenv.sandbox.runner import run_program

__all__ = [
    "WEAK_MODE_ENV", "BatchResult", "Isolation", "ItemResult", "Job", "Mode", "ProbeReport", "RunResult",
    "SandboxConfig", "SandboxPool", "SandboxUnavailableError", "SandboxWeakModeWarning", "Status",
    "probe_isolation", "run_batch", "run_program",
]
