"""Load a repository script (``scripts/``, ``benchmarks/``: not packages) as a module, for tests of its functions.

The module is registered in ``sys.modules`` while it runs (``dataclasses`` looks a class's module up there to
resolve ``from __future__ import annotations`` strings), under a prefixed name that no real module owns.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
MODULE_PREFIX = "_teachenv_script_"


def script_module_name(relative_path: str) -> str:
    """The ``sys.modules`` name a loaded script gets: the prefix, then its path with non-word characters as ``_``."""
    return MODULE_PREFIX + re.sub(r"\W", "_", str(Path(relative_path).with_suffix("")))


def load_script(relative_path: str) -> ModuleType:
    """The script at ``relative_path`` (from the repository root), executed as a fresh module.

    It stays in ``sys.modules`` under ``script_module_name(relative_path)`` (a later load of the same script
    replaces it); if executing it raises, it is removed again and the error propagates.
    """
    path = ROOT / relative_path
    name = script_module_name(relative_path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
