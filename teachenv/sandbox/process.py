"""The parent's side of one sandbox run: the launcher's spec, the spawn, the caps, the wall clock.

`build_spec` turns a config and a harness job into the JSON the launcher reads; `execute` starts
``unshare … launcher.py`` (or the launcher alone in the weak mode) in a new session, feeds it
the spec, reads stdout, stderr, the result pipe and the status pipe at once, keeping at most a
cap of each and discarding the rest (so a 1 GB print neither fills memory nor blocks the
writer), and SIGKILLs the session when the wall clock (or, in the batch mode, the stall
watchdog) runs out; with ``--kill-child`` the sandbox's init, and so the whole PID namespace,
dies with ``unshare``. It uses no ``preexec_fn``, so it is safe in a process with threads.
This module knows nothing about verdicts; `outcome` reads what it returns.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from teachenv.sandbox.config import SandboxConfig
from teachenv.sandbox.results import Mode

LAUNCHER = Path(__file__).with_name("launcher.py")
HARNESS = Path(__file__).with_name("harness.py")
# Copied into every sandbox run: the zygote and the modules it imports (standard library only).
HARNESS_FILES = ("harness.py", "answer.py", "judge.py", "wire.py", "privileges.py")
SINGLE_ITEM_GRACE_S = 1.0
UNSHARE_FLAGS = ("--pid", "--fork", "--kill-child", "--net", "--mount", "--mount-proc", "--ipc")
ISOLATED_WORKDIR = "/tmp/sandbox"  # on the private tmpfs; the launcher's WORKDIR
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
# The untrusted interpreter ignores the user site; the scrubbed environment below is all it sees.
# (-I would also ignore PYTHONHASHSEED, which keeps set and dict orders reproducible.)
PYTHON_FLAGS = ("-s", "-B")
RESULT_CAP = 64 << 20  # harness verdicts: 1,000 batch items take well under 1 MiB
STATUS_CAP = 1 << 20
EXIT_GRACE_S = 1.0  # after the launcher exits, how long stragglers may hold the pipes (weak mode)
KILL_GRACE_S = 5.0  # after a kill, how long to wait for the pipes to close
UID_RANGE = (100_000_000, 2_000_000_000)
BACKSTOP_DELAY_S = 2.0  # the launcher ends the run itself this long after the parent should have

KillReason = Literal["wall", "stalled"]


def host_namespaces() -> dict[str, int]:
    """Inode numbers of this process's namespaces, for the launcher to prove its own are new."""
    return {name: os.stat(f"/proc/self/ns/{name}").st_ino for name in ("pid", "net", "mnt", "ipc")}


def sandbox_uid(config: SandboxConfig) -> int:
    return config.uid if config.uid is not None else UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])


def judge_uid(answer_uid: int) -> int:
    """The judge's uid: next to the answer's, never equal to it."""
    return answer_uid + 1 if answer_uid + 1 < 1 << 31 else answer_uid - 1


def build_spec(
    config: SandboxConfig,
    mode: Mode,
    python: str,
    harness_mode: Literal["single", "batch"],
    job: dict,
    *,
    workdir: str,
    uid: int | None,
    cpu_seconds: float | None = None,
) -> dict:
    """The launcher's input: files to write, rlimits, uid, the interpreter's argv and environment.

    `job` is ``{"program", "tests"}`` in the single mode (its output is the run's stdout, its time
    the run's wall clock) and ``{"start", "items": [{"program", "tests"}, ...]}`` in the batch mode
    (each item's output captured, each item under `item_seconds`). Each item's program and tests
    go to files of their own, so that the harness never holds one item's tests while it forks
    another item's (or the same item's) answer process.
    """
    cpu = math.ceil(cpu_seconds if cpu_seconds is not None else config.cpu_seconds)
    mib = 1 << 20
    single = harness_mode == "single"
    items = [job] if single else job["items"]
    rlimits = {
        "CPU": [cpu, cpu + 1],  # SIGXCPU at the soft limit, SIGKILL a second later
        "AS": [config.memory_mb * mib] * 2,
        "NPROC": [config.max_processes] * 2,
        "FSIZE": [config.max_file_mb * mib] * 2,
        "NOFILE": [config.max_open_files] * 2,
        "CORE": [0, 0],
    }
    settings = {
        "mode": mode, "workdir": workdir, "start": 0 if single else job["start"], "count": len(items),
        "announce": not single, "output": "inherit" if single else "capture",
        "output_chars": config.item_output_bytes,
        # A single program's time is the run's wall clock (the parent's kill says so first).
        "item_seconds": config.wall_seconds + SINGLE_ITEM_GRACE_S if single else config.item_seconds,
        "answer_uid": uid, "judge_uid": None if uid is None else judge_uid(uid), "rlimits": rlimits,
        "tmpfs_bytes": config.tmpfs_mb * mib, "tmpfs_inodes": config.tmpfs_inodes,
    }
    files = {name: (HARNESS.parent / name).read_text(encoding="utf-8") for name in HARNESS_FILES}
    files["job.json"] = json.dumps(settings)
    for offset, item in enumerate(items):
        files[f"program-{offset}.py"] = item["program"]
        files[f"tests-{offset}.json"] = json.dumps(list(item["tests"]))
    return {
        "mode": mode,
        "workdir": workdir,
        "files": files,
        "argv": [python, *PYTHON_FLAGS, "harness.py", "job.json"],
        "env": {
            "PATH": SANDBOX_PATH, "HOME": workdir, "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        },
        "uid": uid,
        "gid": uid,
        "rlimits": rlimits,
        "tmpfs_bytes": config.tmpfs_mb * mib,
        "tmpfs_inodes": config.tmpfs_inodes,
        "host_ns": host_namespaces() if mode == "isolated" else {},
        "backstop_seconds": config.wall_seconds + BACKSTOP_DELAY_S,
    }


@dataclass
class CappedStream:
    """The first `cap` bytes read from one pipe, and how many bytes came in all."""

    cap: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    def feed(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.total += len(chunk)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    def json_lines(self) -> list[dict]:
        """Complete JSON-object lines; anything torn or malformed (a hostile writer) is skipped."""
        records = []
        for line in bytes(self.data).split(b"\n"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records


@dataclass
class RawRun:
    """What one sandbox run left behind, uninterpreted."""

    stdout: CappedStream
    stderr: CappedStream
    results: CappedStream
    status: CappedStream
    duration_s: float
    killed: KillReason | None = None
    launch_error: str | None = None


def launcher_argv(mode: Mode) -> list[str]:
    """The command before the two fd numbers (found on HOST_PATH). The launcher runs as root under
    this (trusted) interpreter, which need not be usable by the sandbox's uid."""
    launcher = [sys.executable, "-I", "-S", str(LAUNCHER)]
    return ["unshare", *UNSHARE_FLAGS, *launcher] if mode == "isolated" else launcher


def _exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it (its pid stays ours to killpg)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_session(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def execute(
    argv: list[str],
    spec: dict,
    *,
    wall_seconds: float,
    output_cap: int,
    stall_seconds: float | None = None,
) -> RawRun:
    """Run the launcher with `spec`; SIGKILL its session at `wall_seconds`, or when the result
    pipe has gone `stall_seconds` without a new line (the batch mode's per-item watchdog)."""
    streams = {name: CappedStream(output_cap) for name in ("stdout", "stderr")}
    streams |= {"results": CappedStream(RESULT_CAP), "status": CappedStream(STATUS_CAP)}
    started = time.monotonic()
    result_r, result_w = os.pipe()
    status_r, status_w = os.pipe()
    try:
        proc = subprocess.Popen(
            [*argv, str(result_w), str(status_w)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(result_w, status_w), env={"PATH": HOST_PATH, "LANG": "C.UTF-8"},
            start_new_session=True,
        )
    except OSError as exc:
        for fd in (result_r, status_r):
            os.close(fd)
        return RawRun(**streams, duration_s=time.monotonic() - started, launch_error=f"{argv[0]}: {exc}")
    finally:
        os.close(result_w)
        os.close(status_w)
    killed = _pump(proc, streams, json.dumps(spec).encode(), result_r, status_r, started, wall_seconds, stall_seconds)
    proc.wait()
    return RawRun(**streams, duration_s=time.monotonic() - started, killed=killed)


def _pump(
    proc: subprocess.Popen,
    streams: dict[str, CappedStream],
    spec: bytes,
    result_r: int,
    status_r: int,
    started: float,
    wall_seconds: float,
    stall_seconds: float | None,
) -> KillReason | None:
    """Write the spec and read every pipe until all close or a limit passes; returns why it killed."""
    readers = {proc.stdout.fileno(): streams["stdout"], proc.stderr.fileno(): streams["stderr"]}
    readers |= {result_r: streams["results"], status_r: streams["status"]}
    selector = selectors.DefaultSelector()
    for fd in readers:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    stdin_fd, pending = proc.stdin.fileno(), memoryview(spec)
    os.set_blocking(stdin_fd, False)
    selector.register(stdin_fd, selectors.EVENT_WRITE)
    deadline, progress_at = started + wall_seconds, started
    killed: KillReason | None = None
    killed_at = exited_at = None
    try:
        while readers:
            now = time.monotonic()
            if killed is None and (now >= deadline or (stall_seconds and now - progress_at >= stall_seconds)):
                killed, killed_at = ("wall" if now >= deadline else "stalled"), now
                _kill_session(proc.pid)
            if killed_at is not None and now - killed_at >= KILL_GRACE_S:
                break
            if exited_at is None and _exited(proc.pid):
                exited_at = now
            if exited_at is not None and now - exited_at >= EXIT_GRACE_S:
                break  # the launcher is gone but something it left still holds a pipe (weak mode)
            for key, _ in selector.select(timeout=0.1):
                if key.fd == stdin_fd:
                    try:
                        pending = pending[os.write(stdin_fd, pending[: 1 << 16]):]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(stdin_fd)
                        proc.stdin.close()
                    continue
                try:
                    chunk = os.read(key.fd, 1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fd)
                    del readers[key.fd]
                    continue
                readers[key.fd].feed(chunk)
                if key.fd == result_r and b"\n" in chunk:
                    progress_at = now
    finally:
        _kill_session(proc.pid)  # whatever is left of the session (nothing, in the isolated mode)
        selector.close()
        if not proc.stdin.closed:
            proc.stdin.close()
        for fd in (result_r, status_r):
            os.close(fd)
        proc.stdout.close()
        proc.stderr.close()
    return killed
