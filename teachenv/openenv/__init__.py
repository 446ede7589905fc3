"""teachenv environments over the wire, through OpenEnv (``openenv-core``: ``pip install 'teachenv[openenv]'``).

``teachenv serve CONFIG_OR_ID`` serves one environment (``teachenv.openenv.server``);
``teachenv.openenv.connect(url)`` gives a gymnasium-like handle on it (``teachenv.openenv.client``);
``teachenv.openenv.models`` holds the typed action, observation and state both sides exchange.
Nothing here is imported by ``import teachenv``: the web stack loads only when one of these is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from teachenv.openenv.client import RemoteTeachingEnv

OPENENV_MISSING = "serving and connecting need openenv-core: pip install 'teachenv[openenv]'"


def connect(url: str, **options: Any) -> RemoteTeachingEnv:
    """A gymnasium-like handle (``reset`` / ``step`` / ``close``) on the environment served at ``url``."""
    from teachenv.openenv.client import RemoteTeachingEnv

    return RemoteTeachingEnv(url, **options)
