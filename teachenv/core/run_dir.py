"""The run directory: everything one episode writes, each file written atomically.

Layout (documented in the README)::

    runs/<name>/
      config.yaml          resolved config, as validated
      episode.jsonl        one row per round, round 0 = after reset
      summary.json         final numbers, peak memory, cache hits (written at the end)
      rounds/<k>/          action.json, generated.jsonl, rejected.jsonl, train.json,
                           predictions.jsonl, adapter/

Every file is written to a temporary sibling and renamed into place, so a killed run never
leaves a half-written file; ``episode.jsonl`` is rewritten whole each round for the same reason.
This module knows file formats, not what a round means.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def _to_jsonable(item: Any) -> Any:
    return item.model_dump(mode="json") if isinstance(item, BaseModel) else item


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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

    def round_dir(self, round_index: int) -> Path:
        return self.root / "rounds" / str(round_index)

    def create(self, config_yaml: str, *, overwrite: bool = False) -> None:
        """Start a fresh run: refuse to mix with another run's files unless ``overwrite``."""
        from teachenv.core.errors import RunDirectoryError

        if self.episode_path.exists() and not overwrite:
            raise RunDirectoryError(
                f"Run directory {str(self.root)!r} already holds a run; pass --overwrite to replace it "
                f"or --name to pick another name."
            )
        if overwrite and self.root.exists():
            import shutil

            shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_path, config_yaml)

    def episode_rows(self) -> list[dict[str, Any]]:
        return read_jsonl(self.episode_path)

    def append_episode_row(self, row: dict[str, Any]) -> None:
        atomic_write_jsonl(self.episode_path, [*self.episode_rows(), row])
