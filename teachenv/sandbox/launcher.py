"""The sandbox's init: sets up the isolation, then runs the untrusted interpreter and reaps.

Run as a script (``python -I -S launcher.py RESULT_FD STATUS_FD``), standard library only, with a
JSON spec on stdin (built by `process.build_spec`). In the isolated mode it is PID 1 of a fresh
PID, network, mount and IPC namespace made by ``unshare`` and still root there; it

1. checks that every namespace really is new (and mounts nothing otherwise),
2. mounts a size-capped tmpfs on /tmp (bind-mounted over /var/tmp, /dev/shm, /run/lock too),
   re-mounts / read-only, and writes the program's files into ``/tmp/sandbox``,
3. forks the child, which sets the rlimits, drops to the unprivileged uid (no groups, no
   capabilities, no_new_privs), checks all that took, and execs the interpreter, and
4. reaps every process until that child exits, reports its exit status and exits, upon which
   the kernel kills whatever is left in the namespace.

In the weak mode it does steps 2-4 without namespaces and mounts, in a temp dir the parent made.
Everything it learns goes to the status pipe as JSON lines (the untrusted child never holds it
after exec). It knows nothing about tests, results or the parent's config models.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import signal
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME = 16384, 1 << 18, 1 << 21
ST_RELATIME = 4096
PR_SET_NO_NEW_PRIVS = 38

TMPFS_ROOT = "/tmp"
WORKDIR = "/tmp/sandbox"
# World-writable places of a usual Linux root filesystem, covered by the private tmpfs.
SHADOWED_DIRS = ("/var/tmp", "/dev/shm", "/run/lock", "/run/shm")
NAMESPACES = {"pid_ns": "pid", "net_ns": "net", "mount_ns": "mnt", "ipc_ns": "ipc"}
CHILD_RESULT_FD, CHILD_STATUS_FD = 3, 4


class SetupError(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage, self.message = stage, message


def emit(fd: int, **event: object) -> None:
    os.write(fd, (json.dumps(event) + "\n").encode())


_libc = None


def _libc_call(name: str, *args: object) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if getattr(_libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}{args!r}: {os.strerror(errno)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda text: None if text is None else text.encode()  # noqa: E731
    _libc_call("mount", enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


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


def mount_private_tmpfs(size_bytes: int, inodes: int) -> None:
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates back to the host
    options = f"size={size_bytes},nr_inodes={inodes},mode=1777"
    mount("tmpfs", TMPFS_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for path in SHADOWED_DIRS:
        if os.path.isdir(path) and not os.path.islink(path):
            inner = os.path.join(TMPFS_ROOT, ".shadow" + path.replace("/", "_"))
            os.mkdir(inner)
            os.chmod(inner, 0o1777)
            mount(inner, path, None, MS_BIND)


def remount_root_readonly() -> None:
    """Read-only for this mount namespace only: MS_BIND makes it a per-mount, not per-fs, flag."""
    current = os.statvfs("/").f_flag
    keep = current & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    if current & ST_RELATIME:
        keep |= MS_RELATIME
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)


def write_files(workdir: str, files: dict[str, str], uid: int | None, gid: int | None) -> None:
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    for name, text in files.items():
        path = os.path.join(workdir, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        if uid is not None:
            os.chown(path, uid, gid)
    if uid is not None:
        os.chown(workdir, uid, gid)


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
            mount_private_tmpfs(spec["tmpfs_bytes"], spec["tmpfs_inodes"])
            layers["tmpfs"] = True
            remount_root_readonly()
            layers["readonly_root"] = True
        except OSError as exc:
            raise SetupError("mounts", str(exc)) from exc
    try:
        write_files(spec["workdir"], spec["files"], spec["uid"], spec["gid"])
    except OSError as exc:
        raise SetupError("files", str(exc)) from exc
    emit(status_fd, event="setup", isolation=layers)
    return layers


def _proc_status() -> dict[str, str]:
    with open("/proc/self/status") as handle:
        return dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)


def drop_privileges(uid: int, gid: int) -> bool:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # all uids non-zero: the kernel clears every capability
    _libc_call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    status = _proc_status()
    no_caps = all(int(status.get(key, "1"), 16) == 0 for key in ("CapInh", "CapPrm", "CapEff", "CapAmb"))
    return (
        os.getresuid() == (uid, uid, uid) and os.getresgid() == (gid, gid, gid) and os.getgroups() == []
        and no_caps and status.get("NoNewPrivs", "0").strip() == "1"
    )


def apply_rlimits(limits: dict[str, list[int]]) -> bool:
    for name, (soft, hard) in limits.items():
        resource.setrlimit(getattr(resource, "RLIMIT_" + name), (soft, hard))
    return all(
        resource.getrlimit(getattr(resource, "RLIMIT_" + name)) == (soft, hard) for name, (soft, hard) in limits.items()
    )


def exec_child(spec: dict, result_fd: int, status_fd: int) -> None:
    """In the forked child: fds, rlimits, uid, then exec. Never returns."""
    stage = "fds"
    try:
        result_hi = fcntl.fcntl(result_fd, fcntl.F_DUPFD, 100)
        status_hi = fcntl.fcntl(status_fd, fcntl.F_DUPFD, 100)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(result_hi, CHILD_RESULT_FD)
        os.dup2(status_hi, CHILD_STATUS_FD, inheritable=False)  # closed by exec
        os.closerange(CHILD_STATUS_FD + 1, 1 << 16)
        status_fd = CHILD_STATUS_FD
        stage = "rlimits"
        rlimits_ok = apply_rlimits(spec["rlimits"])
        stage = "uid"
        uid_ok = spec["uid"] is not None and drop_privileges(spec["uid"], spec["gid"])
        stage = "exec"
        os.chdir(spec["workdir"])
        os.umask(0o077)
        emit(status_fd, event="exec", uid_drop=uid_ok, rlimits=rlimits_ok)
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

    def expire(signum, frame) -> None:
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
    child = os.fork()
    if child == 0:
        exec_child(spec, result_fd, status_fd)
    os.close(result_fd)  # so the parent sees EOF once the child and its descendants are gone
    exit_code, sig, cpu = reap_until(child)
    emit(status_fd, event="exit", exit_code=exit_code, signal=sig, cpu_s=round(cpu, 3))
    return exit_code if exit_code is not None else 128 + sig


if __name__ == "__main__":
    sys.exit(main(sys.argv))
