"""One generic registry for tasks, policies, engines and environments.

Entries are registered as lazy ``"module:attr"`` strings so that nothing heavy is imported until
the entry is used; third-party packages add entries through the entry-point group
``teachenv.tasks``, ``teachenv.policies``, ``teachenv.engines`` or ``teachenv.backends`` in their own ``pyproject.toml``.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from teachenv.core.errors import TeachEnvError, UnknownNameError

T = TypeVar("T")


def import_string(target: str) -> object:
    """Import ``"package.module:attr"`` and return the attribute."""
    module_name, sep, attr = target.partition(":")
    if not sep or not attr:
        raise TeachEnvError(f"Expected 'module:attr', got {target!r}.")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise TeachEnvError(f"Module {module_name!r} has no attribute {attr!r} (from {target!r}).") from None


class Registry(Generic[T]):
    """Names → lazily imported objects of one kind, with did-you-mean errors."""

    def __init__(self, kind: str, group: str, builtins: str | tuple[str, ...] = (), base: str | None = None) -> None:
        #: Singular noun used in messages ("task", "policy").
        self.kind = kind
        #: Entry-point group through which other packages add entries.
        self.group = group
        #: Modules whose import registers teachenv's own entries (imported on first lookup).
        self.builtins = (builtins,) if isinstance(builtins, str) else builtins
        #: The class every entry must subclass, as a lazy ``"module:attr"`` (core cannot import the layers
        #: that define the interfaces); checked when an entry is first loaded.
        self.base = base
        self._entries: dict[str, str | T] = {}
        self._loaded: dict[str, T] = {}
        self._entry_points_loaded = False

    def register(self, name: str, target: str | T, *, overwrite: bool = False) -> None:
        """Add ``name``; ``target`` is an object or a lazy ``"module:attr"`` string."""
        if name in self._entries and not overwrite and self._entries[name] != target:
            raise TeachEnvError(
                f"{self.kind} {name!r} is already registered (to {self._entries[name]!r}); "
                f"pick another name or pass overwrite=True."
            )
        if self._entries.get(name) != target:
            self._loaded.pop(name, None)
        self._entries[name] = target

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for module in self.builtins:
            importlib.import_module(module)
        for ep in entry_points(group=self.group):
            self._entries.setdefault(ep.name, ep.value)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def get(self, name: str) -> T:
        """The object registered as ``name``, imported on first use."""
        self._load_entry_points()
        if name not in self._entries:
            raise UnknownNameError(self.unknown_message(name))
        if name not in self._loaded:
            target = self._entries[name]
            loaded = import_string(target) if isinstance(target, str) else target
            self._check_base(name, target, loaded)
            self._loaded[name] = loaded  # type: ignore[assignment]
        return self._loaded[name]

    def _check_base(self, name: str, target: object, loaded: object) -> None:
        if self.base is None:
            return
        base = import_string(self.base)
        if not (isinstance(loaded, type) and isinstance(base, type) and issubclass(loaded, base)):
            raise TeachEnvError(
                f"{self.kind} {name!r} is registered to {target!r}, which is not a subclass of {self.base}; "
                f"register a subclass of {getattr(base, '__name__', base)} under {name!r}."
            )

    def unknown_message(self, name: str) -> str:
        available = self.names()
        close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"Unknown {self.kind} {name!r}.{hint} Available: {', '.join(available) or '(none)'}."


# Entries are classes of one interface each (``base``); the interfaces live in the layers above core,
# so the type parameter is ``type[Any]`` and the base is checked when an entry loads.
tasks: Registry[type[Any]] = Registry("task", "teachenv.tasks", builtins="teachenv.tasks",
                                      base="teachenv.tasks.base:Task")
policies: Registry[type[Any]] = Registry("policy", "teachenv.policies", builtins="teachenv.agents",
                                         base="teachenv.agents.base:Policy")
#: Data-generation engines: the agent's ``engine`` slot (action → training examples).
#: teachenv's own data engines (procedural and LLM) are agents' components (``teachenv.agents``).
engines: Registry[type[Any]] = Registry("engine", "teachenv.engines", builtins="teachenv.agents",
                                        base="teachenv.envs.data_engine:DataEngine")
#: Text-generation backends behind the narrow ``TextBackend`` interface (transformers, vllm, ...).
backends: Registry[type[Any]] = Registry("backend", "teachenv.backends", builtins="teachenv.engines",
                                         base="teachenv.engines.base:TextBackend")
