"""The one error hierarchy of teachenv.

Programming errors (a bad config, an action outside the action space, an unknown name) raise one
of these with a message that names the bad value and the fix. Bad *data* from models (a reply
that is not JSON, a wrong generated answer) is never raised: it is recorded as rejected data.
"""

from __future__ import annotations


class TeachEnvError(Exception):
    """Base class of every error teachenv raises on purpose."""


class ConfigError(TeachEnvError, ValueError):
    """A config value is missing, malformed or inconsistent; the message names the field path."""


class UnknownNameError(TeachEnvError, KeyError):
    """A registry lookup failed; the message suggests the closest names."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidActionError(TeachEnvError, ValueError):
    """An action is outside the environment's action space (a programming error of the agent)."""


class EnvStateError(TeachEnvError, RuntimeError):
    """The environment was used out of order (e.g. `step` before `reset`, after the episode ended)."""


class RunDirectoryError(TeachEnvError, RuntimeError):
    """The run directory is unusable (e.g. it exists and holds another run)."""
