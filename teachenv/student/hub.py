"""Hugging Face Hub access: the explicit offline switch, and what a model that cannot be loaded means.

teachenv never switches the Hub off by itself. Like every Hugging Face tool it follows
``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE`` when the user sets them; ``teachenv run --offline``
(``set_offline(True)``) sets both for its own process before any Hub client is imported, and
``--online`` sets both to 0. Models and data sets then download, or are read from the local cache,
as the Hub clients decide. This module knows nothing about students or tasks.
"""

from __future__ import annotations

import os
import sys

from teachenv.core.errors import ConfigError

HUB_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
_TRUE = {"1", "on", "yes", "true"}


def set_offline(offline: bool | None) -> None:
    """Switch Hub access for this process: True off, False on, None leaves the user's variables as they are.

    Hub clients read the variables when they are first imported; one already imported (a library
    user's own import of ``datasets`` before this) is switched through its module constant too."""
    if offline is None:
        return
    for name in HUB_VARIABLES:
        os.environ[name] = "1" if offline else "0"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = offline
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        datasets_config.HF_HUB_OFFLINE = datasets_config.HF_DATASETS_OFFLINE = offline


def is_offline() -> bool:
    """Whether Hub access is off for this process (``HF_HUB_OFFLINE`` set to a true value)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def looks_like_path(name: str) -> bool:
    """A model name written as a local path (``/``, ``./``, ``../``, ``~``) rather than a Hub id ``owner/name``."""
    return name.startswith(("/", "./", "../", "~")) or os.sep + os.sep in name


def model_load_error(field: str, name: str, error: Exception) -> ConfigError:
    """The one-line error for a model ``name`` (config field ``field``) that could not be loaded."""
    if looks_like_path(name):
        return ConfigError(f"{field}={name!r} is not a model folder (no such directory, or no config.json in it); "
                           f"point {field} at a saved model folder or a Hub id such as Qwen/Qwen2.5-0.5B-Instruct.")
    if is_offline():
        return ConfigError(f"{field}={name!r} is not in the local Hugging Face cache and Hub access is off "
                           "(HF_HUB_OFFLINE=1 or --offline); run once with --online to download it, or set "
                           f"{field} to a local folder.")
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return ConfigError(f"{field}={name!r} could not be loaded ({first}); check the Hub id (a private or gated "
                       f"model needs `hf auth login`), or set {field} to a local model folder.")
