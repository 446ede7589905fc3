"""The grading zygote that runs *inside* the sandbox: one fresh process tree per item.

Run as ``python -s harness.py job.json`` in the run's directory, as root inside the run's
namespaces (the launcher's child), standard library only. ``job.json`` holds the settings; each
item's program and tests are in files of their own (``program-K.py``, ``tests-K.json``), readable
by root only. For each item the zygote forks the item's *init*: in the isolated mode PID 1 of a new PID
namespace, in new mount and IPC namespaces, where it mounts a fresh tmpfs on
/tmp (the item's working directory lives in it) and a /proc of its own, then forks

- the **answer** (uid A, its own rlimits): runs the program and serves calls (`answer`), and
- the **judge** (uid J != A): reads the tests only now, runs them with the program's names bound
  to plain-data proxies (`judge`), and sends its verdict to the init.

The init waits for the verdict, the answer's death or the item's deadline, whichever comes first,
and exits; the kernel then kills whatever is left in the item's PID namespace (``setsid`` daemons
included) before the zygote, which waits for it, starts the next item. The zygote alone writes
verdicts to fd 3, stamped with the item's index. (The zygote unshares the PID namespace itself
and undoes that with ``setns`` after the fork: one process less per item than a middleman.) In the weak mode (no namespaces) the init is a
child subreaper that kills all its descendants instead, and without root answer and judge share a
uid: there a program can reach the judge, so weak-mode verdicts are not protected.

When the judge reports the answer gone (``crashed``), the answer's own exit status says how it
ended (its CPU limit is ``timeout``), so the init waits for that status up to the item's deadline,
never for a fixed span of wall clock: a verdict must not depend on how soon a loaded machine lets a
dying process be reaped. An answer that breaks its channel and lives on is ``timeout`` at the deadline.

It knows nothing about the parent, its config models or how it was launched.
"""

from __future__ import annotations

import fcntl
import gc
import importlib
import json
import os
import selectors
import shutil
import signal
import sys
import time

import privileges
from answer import Channel, serve
from judge import judge

RESULT_FD = 3
# Imported once here, so that items' answers and judges find them loaded instead of each importing
# them anew (typing alone costs a few ms a process); what answers import most.
PRELOADED = ("typing", "math", "re", "collections", "itertools", "functools", "heapq", "string", "random", "bisect")
VERDICT_BYTES = 1 << 20
FIELDS = ("status", "failed_test", "error", "stdout", "exit_code", "signal")


def _read_file(dir_fd: int, name: str) -> str:
    fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, encoding="utf-8", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _become(fds: dict[int, int], uid: int | None, rlimits: dict, cwd: str) -> None:
    """In a forked child: keep exactly `fds` (target: source), set limits, drop to `uid`."""
    high = {target: fcntl.fcntl(source, fcntl.F_DUPFD, 100) for target, source in fds.items()}
    for target, source in high.items():
        os.dup2(source, target)
    os.closerange(max(fds) + 1, 1 << 16)
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGALRM, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    os.chdir(cwd)
    os.umask(0o077)
    if not privileges.apply_rlimits(rlimits) or (uid is not None and not privileges.drop_privileges(uid, uid)):
        os._exit(126)


class ItemInit:
    """The trusted init of one item: sets up, forks answer and judge, keeps the deadline, reports."""

    def __init__(self, job: dict, index: int, dir_fd: int, trusted_path: list[str], report_fd: int) -> None:
        self.job, self.index, self.dir_fd = job, index, dir_fd
        self.trusted_path, self.report_fd = trusted_path, report_fd
        self.capture = job["output"] == "capture"
        self.deadline = time.monotonic() + job["item_seconds"]
        self.answer_forked = False

    def _workdir(self) -> str:
        if self.job["mode"] == "isolated":
            privileges.mount_private_tmpfs(self.job["tmpfs_bytes"], self.job["tmpfs_inodes"])
            privileges.mount_proc()
            workdir = self.job["workdir"]
        else:
            workdir = os.path.join(self.job["workdir"], f"item-{self.index}")
        os.mkdir(workdir, 0o700)
        if self.job["answer_uid"] is not None:
            os.chown(workdir, self.job["answer_uid"], self.job["answer_uid"])
        return workdir

    def run(self) -> None:
        """Never returns."""
        try:
            record = self._grade()
        except BaseException as exc:  # noqa: BLE001 - a failure of the grading itself, reported as such
            # Before the answer exists (mounts, files) it is the sandbox's failure, not the item's.
            status = "crashed" if self.answer_forked else "sandbox-error"
            record = {"status": status, "error": f"the item's init failed: {type(exc).__name__}: {exc}"}
        try:
            _write_all(self.report_fd, json.dumps(record).encode())
        finally:
            if self.job["mode"] != "isolated":
                privileges.kill_descendants()
                shutil.rmtree(os.path.join(self.job["workdir"], f"item-{self.index}"), ignore_errors=True)
            os._exit(0)  # as PID 1 of the item's namespace: the kernel kills the rest

    def _grade(self) -> dict:
        job, devnull = self.job, os.open(os.devnull, os.O_RDONLY)
        workdir = self._workdir()
        program = _read_file(self.dir_fd, f"program-{self.index}.py")
        to_answer_r, to_answer_w = os.pipe()
        to_judge_r, to_judge_w = os.pipe()
        out_r, out_w = os.pipe() if self.capture else (None, 1)
        answer = os.fork()
        if answer == 0:  # never returns into the init's code
            try:
                _become({0: devnull, 1: out_w, 2: 2, 3: to_answer_r, 4: to_judge_w}, job["answer_uid"], job["rlimits"], workdir)
                serve(program, Channel(3, 4))
            finally:
                os._exit(1)
        self.answer_forked = True
        del program
        tests = json.loads(_read_file(self.dir_fd, f"tests-{self.index}.json"))  # only after the answer forked
        verdict_r, verdict_w = os.pipe()
        judge_pid = os.fork()
        if judge_pid == 0:  # never returns into the init's code
            try:
                _become({0: devnull, 1: out_w, 2: 2, 3: to_judge_r, 4: to_answer_w, 5: verdict_w},
                        job["judge_uid"], job["rlimits"], "/")
                sys.path[:] = self.trusted_path  # nothing the answer can write is importable here
                sys.path_importer_cache.clear()
                _write_all(5, json.dumps(judge(tests, Channel(3, 4))).encode() + b"\n")
            finally:
                os._exit(0)
        del tests
        for fd in (to_answer_r, to_answer_w, to_judge_r, to_judge_w, verdict_w, devnull):
            os.close(fd)
        if self.capture:
            os.close(out_w)
        return self._wait(answer, verdict_r, out_r)

    def _wait(self, answer: int, verdict_r: int, out_r: int | None) -> dict:
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        selector = selectors.DefaultSelector()
        selector.register(verdict_r, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        if out_r is not None:
            selector.register(out_r, selectors.EVENT_READ)
        verdict, output, ended, judged = b"", bytearray(), None, None
        cap = self.job["output_chars"]
        while judged is None:
            now = time.monotonic()
            if now >= self.deadline:
                return self._finish(self._out_of_time(verdict), output)
            for key, _ in selector.select(self.deadline - now):
                if key.fd == wake_r:
                    os.read(wake_r, 4096)
                    continue
                chunk = os.read(key.fd, 1 << 16)
                if key.fd == verdict_r:
                    verdict += chunk
                    if not chunk or len(verdict) > VERDICT_BYTES:
                        selector.unregister(verdict_r)
                        verdict += b"\n"
                elif not chunk:
                    selector.unregister(key.fd)
                elif len(output) < cap:
                    output += chunk[: cap - len(output)]
            ended = ended or self._reap(answer)
            if ended is not None and b"\n" not in verdict:
                os.set_blocking(verdict_r, False)
                try:
                    verdict += os.read(verdict_r, VERDICT_BYTES)
                except BlockingIOError:
                    pass
                if b"\n" not in verdict:
                    judged = self._death(*ended)
            if b"\n" in verdict:
                judged = self._judged(verdict)
                if judged.get("status") == "crashed":
                    # How the answer ended says more than "it went away": wait for its exit status (a
                    # dying process is reaped whenever the scheduler lets it; one that broke its
                    # channel and lives on holds the item only until its deadline).
                    judged = self._death(*ended) if ended is not None else None
        if out_r is not None:  # what the answer printed before the verdict is in the pipe already
            os.set_blocking(out_r, False)
            try:
                while len(output) < cap and (chunk := os.read(out_r, 1 << 16)):
                    output += chunk[: cap - len(output)]
            except BlockingIOError:
                pass
        return self._finish(judged, output)

    def _out_of_time(self, verdict: bytes) -> dict:
        error = f"the item ran longer than {self.job['item_seconds']:g} s"
        if b"\n" in verdict:  # the judge already reported the answer gone, and it did not exit
            error += " (the answer stopped answering its tests but did not exit)"
        return {"status": "timeout", "failed_test": None, "error": error}

    def _reap(self, answer: int) -> tuple[int, float] | None:
        """Reap what has exited (PID 1 inherits orphans); the answer's (wait status, CPU s) if it ended."""
        found = None
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return found
            if pid == 0:
                return found
            if pid == answer:
                found = (status, usage.ru_utime + usage.ru_stime)

    def _death(self, status: int, cpu_s: float) -> dict:
        cpu_limit = self.job["rlimits"]["CPU"][0]
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            record = {"exit_code": None, "signal": sig}
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= cpu_limit):
                return {**record, "status": "timeout", "error": f"the CPU limit of {cpu_limit} s ran out (signal {sig})"}
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            how = f"was killed by signal {sig} ({name})"
        else:
            record = {"exit_code": os.waitstatus_to_exitcode(status), "signal": None}
            how = f"exited with code {record['exit_code']}"
        return {**record, "status": "crashed", "error": f"the program {how} before the tests ended"}

    @staticmethod
    def _judged(verdict: bytes) -> dict:
        try:
            record = json.loads(verdict.split(b"\n", 1)[0])
        except ValueError:
            record = None
        if not isinstance(record, dict):
            return {"status": "crashed", "error": "the judge ended without a verdict"}
        return record

    @staticmethod
    def _finish(record: dict, output: bytearray) -> dict:
        return {**record, "stdout": output.decode("utf-8", errors="replace")}


class Zygote:
    """Forks one item after another and reports each verdict, stamped with its index, on fd 3."""

    def __init__(self, job: dict) -> None:
        self.job = job
        self.dir_fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
        self.pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY) if job["mode"] == "isolated" else -1
        # The script's own directory is left out: the judge imports only what the answer cannot write.
        self.trusted_path = [path for path in sys.path[1:] if not path.startswith(("/tmp", job["workdir"]))]

    def grade(self, offset: int) -> dict:
        started = time.perf_counter()
        report_r, report_w = os.pipe()
        child = self._fork_init(offset, report_r, report_w)
        os.close(report_w)
        data = bytearray()
        while chunk := os.read(report_r, 1 << 16):
            if len(data) < VERDICT_BYTES:
                data += chunk
        os.close(report_r)
        os.waitpid(child, 0)  # returns once every process of the item's PID namespace is gone
        try:
            record = json.loads(bytes(data))
        except ValueError:
            record = None
        if not isinstance(record, dict):
            record = {"status": "crashed", "error": "the item's init ended without a verdict"}
        verdict = {name: record.get(name) for name in FIELDS}
        return {"index": self.job["start"] + offset, **verdict, "stdout": verdict["stdout"] or "",
                "duration_s": round(time.perf_counter() - started, 6)}

    def _fork_init(self, offset: int, report_r: int, report_w: int) -> int:
        """Fork the item's init: PID 1 of a new PID namespace (unshared here, so that the init is the
        child itself, then undone with setns for the next item), or a subreaper in the weak mode."""
        isolated = self.job["mode"] == "isolated"
        if isolated:
            privileges.unshare(privileges.CLONE_NEWPID)
        try:
            child = os.fork()
        except BaseException:
            if isolated:
                privileges.setns(self.pid_ns, privileges.CLONE_NEWPID)
            raise
        if child != 0 and isolated:
            privileges.setns(self.pid_ns, privileges.CLONE_NEWPID)
        if child == 0:
            try:
                os.close(report_r)
                os.close(RESULT_FD)
                if isolated:
                    privileges.unshare(privileges.CLONE_NEWNS | privileges.CLONE_NEWIPC)
                else:
                    privileges.become_subreaper()
                ItemInit(self.job, offset, self.dir_fd, self.trusted_path, report_w).run()
            finally:
                os._exit(70)
        return child


def main(argv: list[str]) -> None:
    with open(argv[1], encoding="utf-8") as handle:
        job = json.load(handle)
    zygote = Zygote(job)
    for name in PRELOADED:
        importlib.import_module(name)
    gc.freeze()  # the forked item processes never collect (and so copy) the zygote's objects
    if job["announce"]:
        _write_all(RESULT_FD, b'{"event": "ready"}\n')  # from here on, a death is the current item's doing
    for offset in range(job["count"]):
        _write_all(RESULT_FD, (json.dumps(zygote.grade(offset)) + "\n").encode())
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
