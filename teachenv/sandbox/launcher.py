"""The sandbox's init: sets up the isolation, then runs the grading harness and reaps.

Run as a script (``python -I -S launcher.py RESULT_FD STATUS_FD``), standard library only, with a
JSON spec on stdin (built by `process.build_spec`). In the isolated mode it is PID 1 of a fresh
PID, network, mount and IPC namespace made by ``unshare`` and still root there; it

1. checks that every namespace really is new (and mounts nothing otherwise),
2. mounts a size-capped tmpfs on /tmp (bind-mounted over /var/tmp, /dev/shm, /run/lock too),
   re-mounts / read-only, and writes the harness and each item's files (root-only) into
   ``/tmp/sandbox``,
3. checks in a throwaway child that the rlimits and the drop to the unprivileged uid (no groups,
   no capabilities, no_new_privs) take, then forks the child that execs the harness's zygote,
   still root (`harness` drops every item's processes to unprivileged uids itself), and
4. reaps every process until that child exits, reports its exit status and exits, upon which
   the kernel kills whatever is left in the namespace.

In the weak mode it does steps 2-4 without namespaces and mounts, in a temp dir the parent made.
Everything it learns goes to the status pipe as JSON lines (closed on exec: no item process
ever holds it). It knows nothing about tests, results or the parent's config models.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's directory out
import privileges  # noqa: E402 - a sibling file, stdlib only, also copied into the sandbox

NAMESPACES = {"pid_ns": "pid", "net_ns": "net", "mount_ns": "mnt", "ipc_ns": "ipc"}
CHILD_RESULT_FD = 3


class SetupError(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage, self.message = stage, message


def emit(fd: int, **event: object) -> None:
    os.write(fd, (json.dumps(event) + "\n").encode())


def check_namespaces(host_ns: dict[str, int]) -> dict[str, bool]:
    """Which namespaces differ from the parent's (by the inode of /proc/self/ns/<name>)."""
    fresh = {
        layer: os.stat(f"/proc/self/ns/{name}").st_ino != host_ns.get(name)
        for layer, name in NAMESPACES.items()
    }
    fresh["pid_ns"] = fresh["pid_ns"] and os.getpid() == 1
    if fresh["net_ns"]:  # a new network namespace holds a loopback and nothing else
        with open("/proc/net/dev") as devices:
            names = [line.split(":")[0].strip() for line in devices.readlines()[2:]]
        fresh["net_ns"] = names == ["lo"]
    return fresh


def write_files(workdir: str, files: dict[str, str]) -> None:
    """The harness and each item's program and tests, readable by this (root) user only; the
    directory stays traversable so that the weak mode's item directories inside it are reachable."""
    os.makedirs(workdir, mode=0o711, exist_ok=True)
    os.chmod(workdir, 0o711)
    for name, text in files.items():
        descriptor = os.open(os.path.join(workdir, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)


def set_up(spec: dict, status_fd: int) -> dict[str, bool]:
    """Steps 1-2 of the module docstring; returns the isolation layers verified so far."""
    layers = {"tmpfs": False, "readonly_root": False}
    if spec["mode"] == "isolated":
        try:
            layers.update(check_namespaces(spec["host_ns"]))
        except OSError as exc:
            raise SetupError("namespaces", str(exc)) from exc
        if not layers["mount_ns"]:  # never mount over the host's /tmp
            raise SetupError("namespaces", "not in a new mount namespace; refusing to mount")
        try:
            privileges.mount_private_tmpfs(spec["tmpfs_bytes"], spec["tmpfs_inodes"])
            layers["tmpfs"] = True
            privileges.remount_root_readonly()
            layers["readonly_root"] = True
        except OSError as exc:
            raise SetupError("mounts", str(exc)) from exc
    try:
        write_files(spec["workdir"], spec["files"])
    except OSError as exc:
        raise SetupError("files", str(exc)) from exc
    emit(status_fd, event="setup", isolation=layers)
    return layers


def check_privilege_drop(spec: dict) -> tuple[bool, bool]:
    """Whether the item processes' rlimits and uid drop take, tried in a throwaway child."""
    child = os.fork()
    if child == 0:
        try:
            rlimits_ok = privileges.apply_rlimits(spec["rlimits"])
            uid_ok = spec["uid"] is not None and privileges.drop_privileges(spec["uid"], spec["gid"])
            os._exit(int(rlimits_ok) + 2 * int(uid_ok))
        except BaseException:  # noqa: BLE001
            os._exit(0)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 0
    return bool(code & 2), bool(code & 1)


def exec_child(spec: dict, result_fd: int, status_fd: int) -> None:
    """In the forked child: fds, then exec the harness, still root (its item processes drop to the
    unprivileged uids with the rlimits). Never returns."""
    stage = "fds"
    try:
        result_hi = fcntl.fcntl(result_fd, fcntl.F_DUPFD, 100)
        status_hi = fcntl.fcntl(status_fd, fcntl.F_DUPFD, 100)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(result_hi, CHILD_RESULT_FD)
        os.dup2(status_hi, CHILD_RESULT_FD + 1, inheritable=False)  # closed by exec
        os.closerange(CHILD_RESULT_FD + 2, 1 << 16)
        status_fd = CHILD_RESULT_FD + 1
        stage = "exec"
        os.chdir(spec["workdir"])
        os.umask(0o077)
        os.execve(spec["argv"][0], spec["argv"], spec["env"])
    except BaseException as exc:  # noqa: BLE001 - the child must never return into the launcher
        try:
            emit(status_fd, event="error", stage=stage, message=f"{type(exc).__name__}: {exc}")
        finally:
            os._exit(127)


def reap_until(child: int) -> tuple[int | None, int | None, float]:
    """Reap every process (PID 1 inherits orphans) until `child` exits; its exit code, signal, CPU s."""
    while True:
        pid, status, usage = os.wait4(-1, 0)
        if pid == child:
            cpu = usage.ru_utime + usage.ru_stime
            if os.WIFSIGNALED(status):
                return None, os.WTERMSIG(status), cpu
            return os.waitstatus_to_exitcode(status), None, cpu


def arm_backstop(seconds: float, weak: bool, status_fd: int) -> None:
    """Should the parent die before its wall clock kills us, end the run ourselves a bit later:
    PID 1 exiting takes the namespace with it; in the weak mode, kill our process group."""

    def expire(signum: int, frame: object) -> None:
        emit(status_fd, event="backstop", seconds=seconds)
        if weak:
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os._exit(124)

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def main(argv: list[str]) -> int:
    result_fd, status_fd = int(argv[1]), int(argv[2])
    spec = json.loads(sys.stdin.buffer.read())
    arm_backstop(spec["backstop_seconds"], spec["mode"] != "isolated", status_fd)
    try:
        set_up(spec, status_fd)
    except SetupError as exc:
        emit(status_fd, event="error", stage=exc.stage, message=exc.message)
        return 125
    uid_ok, rlimits_ok = check_privilege_drop(spec)
    emit(status_fd, event="exec", uid_drop=uid_ok, rlimits=rlimits_ok)
    child = os.fork()
    if child == 0:
        exec_child(spec, result_fd, status_fd)
    os.close(result_fd)  # so the parent sees EOF once the child and its descendants are gone
    exit_code, sig, cpu = reap_until(child)
    emit(status_fd, event="exit", exit_code=exit_code, signal=sig, cpu_s=round(cpu, 3))
    return exit_code if exit_code is not None else 128 + sig


if __name__ == "__main__":
    sys.exit(main(sys.argv))
