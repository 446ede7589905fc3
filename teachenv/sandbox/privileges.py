"""What the sandbox's trusted side asks of the kernel: libc calls, mounts, rlimits, a uid drop.

Standard library only: the launcher (PID 1 of a run) and the harness's zygote and item inits
(run inside the sandbox as root, from a copy of this file) both use it. It knows system calls,
not tests, verdicts or the parent's config models.
"""

from __future__ import annotations

import ctypes
import os
import resource

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME = 16384, 1 << 18, 1 << 21
ST_RELATIME = 4096
PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 36, 38
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x08000000, 0x20000000

TMPFS_ROOT = "/tmp"
# World-writable places of a usual Linux root filesystem, covered by the private tmpfs.
SHADOWED_DIRS = ("/var/tmp", "/dev/shm", "/run/lock", "/run/shm")

_libc = None


def libc_call(name: str, *args: object) -> None:
    """Call a libc function that returns 0 on success; OSError (with its errno) otherwise."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if getattr(_libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}{args!r}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    """``unshare(2)`` (``os.unshare`` is Python 3.12+)."""
    libc_call("unshare", ctypes.c_int(flags))


def setns(fd: int, nstype: int) -> None:
    """``setns(2)`` (``os.setns`` is Python 3.12+)."""
    libc_call("setns", ctypes.c_int(fd), ctypes.c_int(nstype))


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda text: None if text is None else text.encode()  # noqa: E731
    libc_call("mount", enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def mount_private_tmpfs(size_bytes: int, inodes: int) -> None:
    """A fresh tmpfs on /tmp (bind-mounted over the other world-writable places), private to this
    mount namespace: nothing below propagates back to the host."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    options = f"size={size_bytes},nr_inodes={inodes},mode=1777"
    mount("tmpfs", TMPFS_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for path in SHADOWED_DIRS:
        if os.path.isdir(path) and not os.path.islink(path):
            inner = os.path.join(TMPFS_ROOT, ".shadow" + path.replace("/", "_"))
            os.mkdir(inner)
            os.chmod(inner, 0o1777)
            mount(inner, path, None, MS_BIND)


def mount_proc() -> None:
    """A /proc of this PID namespace only (called by its PID 1, in its own mount namespace)."""
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def remount_root_readonly() -> None:
    """Read-only for this mount namespace only: MS_BIND makes it a per-mount, not per-fs, flag."""
    current = os.statvfs("/").f_flag
    keep = current & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    if current & ST_RELATIME:
        keep |= MS_RELATIME
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)


def _proc_status() -> dict[str, str]:
    with open("/proc/self/status") as handle:
        return dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)


def drop_privileges(uid: int, gid: int) -> bool:
    """Become `uid` / `gid` with no groups, no capabilities and no_new_privs; whether all that took."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # all uids non-zero: the kernel clears every capability
    libc_call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    status = _proc_status()
    no_caps = all(int(status.get(key, "1"), 16) == 0 for key in ("CapInh", "CapPrm", "CapEff", "CapAmb"))
    return (
        os.getresuid() == (uid, uid, uid) and os.getresgid() == (gid, gid, gid) and os.getgroups() == []
        and no_caps and status.get("NoNewPrivs", "0").strip() == "1"
    )


def apply_rlimits(limits: dict[str, list[int]]) -> bool:
    """Set each ``NAME: [soft, hard]`` (RLIMIT_NAME); whether they all read back as set."""
    for name, (soft, hard) in limits.items():
        resource.setrlimit(getattr(resource, "RLIMIT_" + name), (soft, hard))
    return all(
        resource.getrlimit(getattr(resource, "RLIMIT_" + name)) == (soft, hard) for name, (soft, hard) in limits.items()
    )


def become_subreaper() -> None:
    """Orphaned descendants are re-parented to this process (the weak mode's stand-in for PID 1)."""
    libc_call("prctl", PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def kill_descendants() -> None:
    """SIGKILL every descendant of this process and reap them, until none is left (a subreaper
    inherits the orphans, so a process that forks as it dies is found on the next pass)."""
    import signal

    while True:
        children = set()
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/children") as handle:
                    children.update(int(pid) for pid in handle.read().split())
            except OSError:
                continue
        if not children:
            return
        for pid in children:
            _kill_tree(pid, signal.SIGKILL)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


def _kill_tree(pid: int, sig: int) -> None:
    """Stop `pid` first (so it forks no more), then its children, then kill it."""
    import signal

    try:
        os.kill(pid, signal.SIGSTOP)
    except OSError:
        return
    grandchildren = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                grandchildren += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    for child in grandchildren:
        _kill_tree(child, sig)
    try:
        os.kill(pid, sig)
    except OSError:
        pass
