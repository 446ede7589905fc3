"""One generic registry for tasks, policies, engines and environments.

Entries are registered as lazy ``"module:attr"`` strings so that nothing heavy is imported until
the entry is used; third-party packages add entries through the entry-point group
``teachenv.tasks``, ``teachenv.policies``, ``teachenv.engines`` or ``teachenv.backends`` in their own ``pyproject.toml``.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Generic, TypeVar

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

    def __init__(self, kind: str, group: str, builtins: str | tuple[str, ...] = ()) -> None:
        #: Singular noun used in messages ("task", "policy").
        self.kind = kind
        #: Entry-point group through which other packages add entries.
        self.group = group
        #: Modules whose import registers teachenv's own entries (imported on first lookup).
        self.builtins = (builtins,) if isinstance(builtins, str) else builtins
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
            self._loaded[name] = import_string(target) if isinstance(target, str) else target  # type: ignore[assignment]
        return self._loaded[name]

    def unknown_message(self, name: str) -> str:
        available = self.names()
        close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"Unknown {self.kind} {name!r}.{hint} Available: {', '.join(available) or '(none)'}."


tasks: Registry = Registry("task", "teachenv.tasks", builtins="teachenv.tasks")
policies: Registry = Registry("policy", "teachenv.policies", builtins="teachenv.agents")
#: Data-generation engines: the agent's ``engine`` slot (action → training examples).
#: teachenv's own data engines (procedural and LLM) are agents' components (``teachenv.agents``).
engines: Registry = Registry("engine", "teachenv.engines", builtins="teachenv.agents")
#: Text-generation backends behind the narrow ``TextBackend`` interface (transformers, vllm, ...).
backends: Registry = Registry("backend", "teachenv.backends", builtins="teachenv.engines")
