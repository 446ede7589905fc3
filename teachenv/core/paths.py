"""Where teachenv keeps its caches: one environment variable with a documented default.

``TEACHENV_HOME`` (default: the user's cache directory, e.g. ``~/.cache/teachenv`` on Linux) holds
built tiny students (``students/``), the engine-response cache (``cache/``) and discovered skills
(``skills/``). It is read here and nowhere else.
"""

from __future__ import annotations

import os
from pathlib import Path


def teachenv_home() -> Path:
    """The cache root: ``$TEACHENV_HOME`` or the platform's user cache dir for ``teachenv``."""
    configured = os.environ.get("TEACHENV_HOME")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("teachenv"))
