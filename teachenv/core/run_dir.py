"""The run directory: everything one episode writes, each file written atomically.

Layout (documented in the README)::

    runs/<name>/
      config.yaml          resolved config, as validated
      episode.jsonl        one row per round, round 0 = after reset
      summary.json         final numbers, peak memory, cache hits (written at the end)
      rounds/<k>/          action.json, generated.jsonl, rejected.jsonl, train.json,
                           predictions.jsonl, adapter/, result.json (what a resume reads back)

Every file is written to a temporary sibling and renamed into place, so a killed run never
leaves a half-written file; ``episode.jsonl`` is rewritten whole each round for the same reason,
and a round's row is written after all its files, so a round without a row is unfinished.
One writer at a time: ``RunDirectory.writer_lock()`` holds an exclusive POSIX lock on
``<run>/.writer.lock`` (released by the kernel when its process dies, however it dies), so a second
process — a retried Ray task while the first attempt still runs, a second ``teachenv run`` — stops
with an error naming the holder instead of mixing two episodes.
This module knows file formats, not what a round means.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()
#: The file ``RunDirectory.writer_lock`` locks; it says who holds it.
LOCK_FILE = ".writer.lock"


def _to_jsonable(item: Any) -> Any:
    return item.model_dump(mode="json") if isinstance(item, BaseModel) else item


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; the file should read like any other
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(_to_jsonable(data), indent=2, sort_keys=False) + "\n")


def atomic_write_jsonl(path: Path, rows: Iterable[Any]) -> None:
    atomic_write_text(path, "".join(json.dumps(_to_jsonable(r), sort_keys=False) + "\n" for r in rows))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class RunDirectory:
    """Paths and atomic writers of one run directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    @property
    def episode_path(self) -> Path:
        return self.root / "episode.jsonl"

    @property
    def summary_path(self) -> Path:
        return self.root / "summary.json"

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILE

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the run directory for this process while the block runs.

        Raises ``RunDirectoryError`` naming the holder (pid, host, since when) if another process
        holds it. The lock is ``fcntl.lockf`` (POSIX record locks, which NFS clients honour), so it
        also keeps writers on different nodes of a cluster apart on shared storage."""
        import fcntl

        from teachenv.core.errors import RunDirectoryError

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
                raise RunDirectoryError(
                    f"Run directory {str(self.root)!r} is in use by {holder}: two writers would mix two "
                    "episodes. Wait for that run to finish (or stop it), then resume with --resume; or pick "
                    "another --name."
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since "
                          f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def round_dir(self, round_index: int) -> Path:
        return self.root / "rounds" / str(round_index)

    def refuse_existing(self, *, overwrite: bool = False) -> None:
        """Refuse to start a fresh run where another run is, unless ``overwrite`` (checked before any build)."""
        from teachenv.core.errors import RunDirectoryError

        if self.episode_path.exists() and not overwrite:
            raise RunDirectoryError(
                f"Run directory {str(self.root)!r} already holds a run; pass --resume to continue it, "
                f"--overwrite to replace it or --name to pick another name."
            )

    def create(self, config_yaml: str, *, overwrite: bool = False) -> None:
        """Start a fresh run: refuse to mix with another run's files unless ``overwrite``."""
        self.refuse_existing(overwrite=overwrite)
        if overwrite and self.root.exists():
            for entry in self.root.iterdir():  # all but the lock, which this process may hold
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                elif entry.name != LOCK_FILE:
                    entry.unlink()
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_path, config_yaml)

    def prepare_resume(self, config_yaml: str) -> bool:
        """Get a run directory ready to be resumed with ``config_yaml``; False if it holds no run yet.

        The config must be the one the run started with. What a killed run may have left half
        written is removed: rounds after the last one in ``episode.jsonl`` (their row is written
        last, so such a round never finished) and temporary files of interrupted writes.
        """
        from teachenv.core.errors import RunDirectoryError

        rows = self.episode_rows()
        if not rows:
            return False
        recorded = self.config_path.read_text(encoding="utf-8") if self.config_path.exists() else ""
        if recorded != config_yaml:
            raise RunDirectoryError(
                f"Cannot resume {str(self.root)!r}: its config.yaml differs from this config "
                f"({_first_difference(recorded, config_yaml)}). Resume with the same config and --set "
                "values, or start a new run with --overwrite or another --name."
            )
        last = rows[-1].get("round", -1)
        rounds = self.root / "rounds"
        for folder in rounds.iterdir() if rounds.is_dir() else ():
            if not folder.name.isdigit() or int(folder.name) > last:
                shutil.rmtree(folder)
        for leftover in self.root.rglob(".*.tmp"):
            leftover.unlink()
        return True

    def episode_rows(self) -> list[dict[str, Any]]:
        return read_jsonl(self.episode_path)

    def append_episode_row(self, row: dict[str, Any]) -> None:
        atomic_write_jsonl(self.episode_path, [*self.episode_rows(), row])


def _first_difference(old_yaml: str, new_yaml: str) -> str:
    """The first config key whose value differs between two YAML documents, for error messages."""
    import yaml

    def flat(node: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(node, dict):
            return {k: v for key, value in node.items() for k, v in flat(value, f"{prefix}{key}.").items()}
        return {prefix.rstrip("."): node}

    old, new = flat(yaml.safe_load(old_yaml) or {}), flat(yaml.safe_load(new_yaml) or {})
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            return f"{key}: run has {old.get(key)!r}, config has {new.get(key)!r}"
    return "formatting only"
