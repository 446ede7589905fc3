"""Typed inputs and results of sandbox runs: `Job`, `RunResult`, `ItemResult`, `BatchResult`.

A program that loops, crashes, exhausts memory or attacks the host is data here, typed by the
boundary it hit (`Status`), never an exception. This module knows nothing about how runs happen.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["passed", "failed", "timeout", "memory", "crashed", "sandbox-error"]
"""passed: the program and every test ran; failed: the program raised or a test failed
(`failed_test` says which; None: the program itself); timeout: a CPU, wall-clock or item limit;
memory: MemoryError or death by allocation failure; crashed: the interpreter died (signal, exit)
before the harness reported; sandbox-error: the sandbox could not be set up (not the program's fault)."""

Mode = Literal["isolated", "weak"]
"""isolated: namespaces + tmpfs + dropped uid + rlimits; weak: a subprocess with rlimits and a temp dir."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Job(_Frozen):
    """One untrusted program and the tests run against it: in a judge process of their own, with
    the program's top-level names bound to proxies that exchange plain data with the program."""

    program: str
    """Python source, executed as ``__main__`` in a fresh namespace."""
    tests: tuple[str, ...] = ()
    """Snippets (``assert f(2) == 4``) run in order after the program; the first that raises fails the job.
    Calls of the program's functions take and return plain data (None, bool, int, float, complex, str,
    bytes, list, tuple, dict, set, frozenset): a result that is not plain data fails the test, and an
    argument mutated in place by the program is not seen by the test."""


class Isolation(_Frozen):
    """Which isolation layers were verified active for a run (all False in the weak mode but `rlimits`)."""

    pid_ns: bool = False
    """A new PID namespace: the sandbox's init dies with its parent and takes every process with it."""
    net_ns: bool = False
    """A new network namespace holding only a down loopback: no network at all."""
    mount_ns: bool = False
    """A new, private mount namespace (mounts made inside never reach the host)."""
    ipc_ns: bool = False
    """A new IPC namespace (no shared System V objects with the host)."""
    tmpfs: bool = False
    """A size-capped tmpfs as working directory and over /tmp, /var/tmp, /dev/shm, /run/lock."""
    readonly_root: bool = False
    """The root filesystem re-mounted read-only inside the mount namespace."""
    uid_drop: bool = False
    """The code runs as an unprivileged uid with no capabilities and no_new_privs."""
    rlimits: bool = False
    """CPU, address-space, process, file-size and open-file limits read back as set."""

    @property
    def complete(self) -> bool:
        return all(getattr(self, name) for name in type(self).model_fields)


class RunResult(_Frozen):
    """The outcome of one program (and its tests) in one sandbox run."""

    status: Status
    failed_test: int | None = None
    """Index of the first failing test; None when the program itself failed (or nothing failed)."""
    error: str | None = None
    """Why it did not pass: the exception line, the limit hit or the signal."""
    duration_s: float
    """Wall-clock seconds of the whole sandbox run, as measured by the parent."""
    exit_code: int | None = None
    """Exit status of the program's process when it ended on its own before the verdict (else of
    the sandbox's harness; None when a signal ended it or it never started)."""
    signal: int | None = None
    """Signal number that ended the program's process (or the harness), if any."""
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    mode: Mode
    isolation: Isolation
    uid: int | None = None
    """The uid the program ran as (None when no uid was dropped); its tests ran as another."""


class ItemResult(_Frozen):
    """The outcome of one item of a batch (`run_batch`), in the order the items were given."""

    index: int
    status: Status
    failed_test: int | None = None
    error: str | None = None
    duration_s: float = 0.0
    """Seconds the item took inside the sandbox (0 when the interpreter died during it)."""
    stdout: str = ""
    """The item's own prints (``sys.stdout``), up to `SandboxConfig.item_output_bytes` characters."""


class BatchResult(_Frozen):
    """All items of a batch, and how many sandbox runs it took (1 per chunk plus 1 per restart)."""

    items: tuple[ItemResult, ...]
    runs: int = Field(ge=0)
    duration_s: float
    mode: Mode
    isolation: Isolation
