"""What a served teachenv environment and its clients exchange: OpenEnv's typed action, observation
and state, and the JSON form of the values inside them.

A gymnasium action or observation travels as JSON in which every numpy array is
``{"ndarray": [...], "dtype": "int64"}``, so the other side gets the same arrays back; a typed record
(``DataGenerationAction``, ``EnvState``, ``RoundResult``, ...) travels as ``{"record":
"module:Class", "data": {...}}`` and is rebuilt as that class, which must live in ``teachenv``. An
error raised on purpose (teachenv's or gymnasium's hierarchy) travels as the message
``[teachenv:<module>.<class>] <text>`` and is raised again as that class.
This module knows the wire format, not environments or sockets.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import numpy as np
from openenv.core.env_server.types import Action, Observation, State
from pydantic import BaseModel, Field

from teachenv.core.errors import ConfigError


class TeachAction(Action):
    """One step's action: the environment's gymnasium action, or a typed one, in wire form."""

    value: Any = Field(description="A gymnasium action or a typed teachenv action, as ``to_wire`` writes it.")


class TeachObservation(Observation):
    """What ``reset`` and ``step`` return: the observation, the typed state with its text, and ``info``."""

    observation: Any = Field(description="The gymnasium observation (wire form).")
    text: str = Field(description='info["state"].to_text(): the state as an LLM policy reads it.')
    info: dict[str, Any] = Field(description="The step's info (wire form): state, round_result, test_accuracy, ...")
    terminated: bool = False
    truncated: bool = False


class TeachState(State):
    """The session's environment: its id, the config's name, its run directory, the round."""

    env_id: str = ""
    config_name: str = ""
    run_dir: str = ""
    round: int | None = None


def to_wire(value: Any) -> Any:
    """``value`` as JSON: arrays and typed records tagged so that ``from_wire`` rebuilds them."""
    if isinstance(value, np.ndarray):
        return {"ndarray": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, BaseModel):
        cls = type(value)
        return {"record": f"{cls.__module__}:{cls.__qualname__}", "data": value.model_dump(mode="json")}
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    return value


def from_wire(value: Any) -> Any:
    """The inverse of ``to_wire``."""
    if isinstance(value, dict):
        if set(value) == {"ndarray", "dtype"}:
            return np.asarray(value["ndarray"], dtype=value["dtype"])
        if set(value) == {"record", "data"}:
            return record_class(value["record"]).model_validate(value["data"])
        return {k: from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    return value


def record_class(path: str) -> type[BaseModel]:
    """The teachenv record class ``module:Class`` names (nothing outside teachenv is imported)."""
    module, _, name = path.partition(":")
    if not (module == "teachenv" or module.startswith("teachenv.")):
        raise ConfigError(f"record type {path!r} is not a teachenv record: only teachenv's own types travel")
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise ConfigError(f"record type {path!r} names no record class")
    return cls


#: The modules whose errors travel typed; nothing else is imported to rebuild an error.
TYPED_ERROR_MODULES = ("teachenv.core.errors", "gymnasium.error")
_WIRE_ERROR = re.compile(r"\[teachenv:([\w.]+)\.(\w+)\] (.*?)(?: \(code: \w+\))?$", re.DOTALL)


def is_typed_error(error: BaseException) -> bool:
    return type(error).__module__ in TYPED_ERROR_MODULES


def error_to_wire(error: BaseException) -> str:
    cls = type(error)
    return f"[teachenv:{cls.__module__}.{cls.__qualname__}] {error}"


def error_from_wire(text: str) -> Exception | None:
    """The typed error a message (as OpenEnv's client reports it) carries, or None if it carries none."""
    match = _WIRE_ERROR.search(text)
    if match is None:
        return None
    module, name, message = match.groups()
    cls = getattr(importlib.import_module(module), name, None) if module in TYPED_ERROR_MODULES else None
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(message)
    return None
