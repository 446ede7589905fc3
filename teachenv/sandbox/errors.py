"""Errors and warnings of the sandbox, in the one `TeachEnvError` hierarchy.

A program that misbehaves inside the sandbox is data (a typed `RunResult`), never one of these:
they are raised only when the sandbox itself cannot be used as configured.
"""

from __future__ import annotations

from teachenv.core.errors import ConfigError

#: The environment variable that opts in to the weak mode (value ``weak``), like ``allow_weak=True``.
WEAK_MODE_ENV = "TEACHENV_SANDBOX"


class SandboxUnavailableError(ConfigError):
    """Operating-system isolation is unavailable and the weak mode was not opted in to."""


class SandboxWeakModeWarning(UserWarning):
    """Untrusted code is running without namespaces, tmpfs or a dropped uid (the weak mode)."""
