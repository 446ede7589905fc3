"""Whether operating-system isolation works here, which interpreter to use, and so which mode.

`probe_isolation` runs one trivial program through the real isolated path at first use and
caches the answer per interpreter; `select_mode` turns that answer into "isolated", or refuses
(`SandboxUnavailableError`) unless the weak mode was opted in to, which it then warns about.
`resolve_python` finds an interpreter an unprivileged uid can run: a venv or pyenv under
``/root`` cannot be, so it falls back to the system ``python3``.
This module knows nothing about verdicts beyond "the probe passed".
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import sys
import sysconfig
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from teachenv.sandbox import outcome, process
from teachenv.sandbox.config import SandboxConfig
from teachenv.sandbox.errors import WEAK_MODE_ENV, SandboxUnavailableError, SandboxWeakModeWarning
from teachenv.sandbox.results import Isolation, Mode

logger = logging.getLogger(__name__)

SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
# Shadowed by the sandbox's private tmpfs, so an interpreter there is invisible inside.
SHADOWED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/run/shm")
PROBE_WALL_S = 30.0


@dataclass(frozen=True)
class ProbeReport:
    """The answer of one probe run: whether every isolation layer came up, and if not, why."""

    available: bool
    python: str
    isolation: Isolation
    reason: str | None = None


def _world_usable(path: Path, bits: int) -> bool:
    """Whether any uid can reach `path` (every parent directory searchable) with the given mode bits."""
    try:
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents) and path.stat().st_mode & bits == bits
    except OSError:
        return False


def _usable_by_anyone(executable: str, *, this_interpreter: bool) -> bool:
    real = Path(os.path.realpath(executable))
    if any(real.is_relative_to(shadowed) for shadowed in SHADOWED) or not _world_usable(real, stat.S_IXOTH):
        return False
    if not this_interpreter:  # the probe run checks the rest
        return True
    if not _world_usable(Path(sysconfig.get_path("stdlib")), stat.S_IROTH | stat.S_IXOTH):
        return False
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and sysconfig.get_config_var("LIBDIR"):
        library = Path(sysconfig.get_config_var("LIBDIR")) / str(sysconfig.get_config_var("LDLIBRARY"))
        return _world_usable(library, stat.S_IROTH)
    return True


def resolve_python(configured: str | None) -> str:
    """The configured interpreter, else this one if any uid can run it, else the system python3."""
    if configured is not None:
        return configured
    if _usable_by_anyone(sys.executable, this_interpreter=True):
        return os.path.realpath(sys.executable)
    for candidate in SYSTEM_PYTHONS:
        if _usable_by_anyone(candidate, this_interpreter=False):
            return os.path.realpath(candidate)
    raise SandboxUnavailableError(
        f"no Python interpreter that an unprivileged uid can run: {sys.executable} (or a directory above it) "
        f"is not world-readable and none of {', '.join(SYSTEM_PYTHONS)} is usable; set SandboxConfig(python=...) "
        "to an interpreter whose files are world-readable."
    )


def _run_probe(python: str) -> ProbeReport:
    if os.geteuid() != 0:
        return ProbeReport(False, python, Isolation(), "not root: creating namespaces and mounting a tmpfs needs root")
    unshare = shutil.which("unshare", path=process.HOST_PATH)
    if unshare is None:
        return ProbeReport(False, python, Isolation(), "the unshare command (util-linux) is not installed")
    config = SandboxConfig(wall_seconds=PROBE_WALL_S)
    job = {"program": "import json, os\nassert os.getuid() != 0", "tests": []}
    spec = process.build_spec(
        config, "isolated", python, "single", job, workdir=process.ISOLATED_WORKDIR, uid=process.sandbox_uid(config)
    )
    raw = process.execute(
        process.launcher_argv("isolated"), spec, wall_seconds=PROBE_WALL_S, output_cap=4096
    )
    ending = outcome.read_ending(raw, "isolated", wall_seconds=PROBE_WALL_S, cpu_limit=config.cpu_seconds)
    verdicts = raw.results.json_lines()
    problem = ending.setup_error or (ending.limit_error[1] if ending.limit_error else None)
    if problem is None and not (verdicts and verdicts[0].get("status") == "passed"):
        problem = f"the probe program did not pass: {verdicts[0].get('error') if verdicts else raw.stderr.text()[-500:]}"
    if problem is None and not ending.isolation.complete:
        missing = [name for name, on in ending.isolation.model_dump().items() if not on]
        problem = f"isolation layers did not come up: {', '.join(missing)}"
    return ProbeReport(problem is None, python, ending.isolation, problem)


_cache: dict[str, ProbeReport] = {}
_lock = threading.Lock()


def probe_isolation(python: str) -> ProbeReport:
    """Run (once per interpreter per process) a trivial program through the isolated path."""
    with _lock:
        if python not in _cache:
            _cache[python] = _run_probe(python)
            if not _cache[python].available:
                logger.warning("sandbox: OS isolation unavailable: %s", _cache[python].reason)
        return _cache[python]


def clear_probe_cache() -> None:
    with _lock:
        _cache.clear()


def select_mode(config: SandboxConfig, environ: Mapping[str, str] | None = None) -> tuple[Mode, str]:
    """("isolated", python) when the probe passes; else ("weak", python) if opted in, with a
    loud warning; else `SandboxUnavailableError` saying what is missing and how to opt in."""
    environ = os.environ if environ is None else environ
    python = resolve_python(config.python)
    report = probe_isolation(python)
    if report.available:
        return "isolated", python
    weak_from_env = environ.get(WEAK_MODE_ENV, "").strip().lower() == "weak"
    if not (config.allow_weak or weak_from_env):
        raise SandboxUnavailableError(
            f"operating-system isolation is unavailable here ({report.reason}), and untrusted code is not run "
            "without it. It needs root (or CAP_SYS_ADMIN) and util-linux's unshare to make PID, network and mount "
            "namespaces. To run anyway with only rlimits and a temporary directory (no namespaces, no tmpfs, no "
            f"network cut, stray processes may survive), set SandboxConfig(allow_weak=True) or {WEAK_MODE_ENV}=weak."
        )
    why = "allow_weak=True" if config.allow_weak else f"{WEAK_MODE_ENV}=weak"
    message = (
        f"UNTRUSTED CODE RUNS IN THE WEAK SANDBOX MODE ({why}): operating-system isolation is unavailable "
        f"({report.reason}); only rlimits and a temporary directory contain it. Every result records mode='weak'."
    )
    warnings.warn(message, SandboxWeakModeWarning, stacklevel=3)
    logger.warning("sandbox: %s", message)
    return "weak", python
