"""``ResponseCache``: an on-disk key → JSON store for engine responses (SQLite).

One file, shared by every run on the machine (default under ``TEACHENV_HOME``), safe to kill
mid-write (each put is one SQLite transaction in WAL mode: a killed process leaves either the row
or nothing) and safe for several processes at once (a benchmark's episodes). It stores opaque
JSON values under string keys; what goes into a key is the caller's business.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from teachenv.core.errors import ConfigError
from teachenv.core.paths import teachenv_home

#: Bumped when the stored value's shape changes, so old rows are never misread.
SCHEMA_VERSION = 1


def default_cache_path() -> Path:
    return teachenv_home() / "cache" / "responses.sqlite"


class ResponseCache:
    """Key → JSON value, persisted in one SQLite file (WAL journal, busy timeout for concurrent runs)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                "created REAL NOT NULL DEFAULT (julianday('now')))"
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"Cannot open the response cache {str(self.path)!r}: {exc}. Set agent.cache.path to a "
                "writable file, or agent.cache.enabled=false."
            ) from None
        self._lock = threading.Lock()  # one connection, shared by a backend's worker threads

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The stored values of those ``keys`` that are present."""
        keys = [_versioned(k) for k in keys]
        found: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
                chunk = keys[start:start + 500]
                rows = self._db.execute(
                    f"SELECT key, value FROM responses WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                found.update((key.split(":", 1)[1], json.loads(value)) for key, value in rows)
        return found

    def get(self, key: str) -> Any | None:
        return self.get_many([key]).get(key)

    def put_many(self, items: Mapping[str, Any]) -> None:
        """Store all ``items`` in one transaction (all or nothing if the process dies)."""
        if not items:
            return
        rows = [(_versioned(k), json.dumps(v, sort_keys=True)) for k, v in items.items()]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def put(self, key: str, value: Any) -> None:
        self.put_many({key: value})

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _versioned(key: str) -> str:
    return f"v{SCHEMA_VERSION}:{key}"
