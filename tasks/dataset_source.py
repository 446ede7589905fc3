"""Where a real task's rows come from: a Hub dataset id, or a local directory or data file, read with
🤗 ``datasets`` into one ``Dataset`` per split.

Local sources: a directory holding ``<split>.jsonl`` / ``.json`` / ``.parquet`` / ``.csv`` files (or a
``save_to_disk`` folder, or any layout ``load_dataset`` reads), one data file (the split ``train``),
or a file name with ``{split}`` in it (one file per split). A Hub id honours ``HF_DATASETS_OFFLINE``
/ ``HF_HUB_OFFLINE`` like ``datasets`` does; every failure is a ``ConfigError`` that names
``task.source`` and the fix. It knows nothing about columns, skills or what the rows mean;
``datasets`` is imported when a source is loaded. ``report_skipped`` is how every dataset task
reports the rows it could not use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teachenv.core.errors import ConfigError

logger = logging.getLogger("teachenv")
#: Skipped rows named in the warning (the rest are counted).
SHOWN_SKIPPED = 5

#: Local data files by extension → the ``datasets`` builder that reads them.
DATA_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


@dataclass(frozen=True)
class LoadedSource:
    splits: dict[str, Any]  # role (e.g. "train" / "eval") → datasets.Dataset
    data_dir: Path | None  # the folder local data came from (relative paths in rows resolve against it)


def load_source(source: str, subset: str | None, split_names: dict[str, str]) -> LoadedSource:
    """The splits ``split_names`` (role → split name) of ``source``."""
    import datasets
    from datasets.exceptions import DatasetsError

    path = Path(source).expanduser()
    single_file = False
    try:
        if "{split}" in source:
            files = {name: Path(source.replace("{split}", name)).expanduser() for name in split_names.values()}
            for name, file in files.items():
                if not file.is_file():
                    raise ConfigError(f"task.source={source!r}: the file of split {name!r}, {str(file)!r}, "
                                      f"does not exist.")
            loaded, data_dir = _load_files(source, files), next(iter(files.values())).parent
        elif path.is_file():
            if path.suffix not in DATA_BUILDERS:
                raise ConfigError(f"task.source={source!r} is a {path.suffix or 'extension-less'} file; "
                                  f"data files must end in one of {sorted(DATA_BUILDERS)}.")
            loaded, single_file, data_dir = _load_files(source, {"train": path}), True, path.parent
        elif path.is_dir():
            loaded, data_dir = _load_directory(path, subset, split_names), path
        elif path.suffix in DATA_BUILDERS or source.startswith((".", "/", "~")) or source.count("/") > 1:
            raise ConfigError(f"task.source={source!r} does not exist (a local path, as it is no Hub id "
                              f"'owner/name'); check the path.")
        else:
            loaded, data_dir = datasets.load_dataset(source, subset), None
    except (OSError, ValueError, DatasetsError) as exc:
        if isinstance(exc, ConfigError):
            raise
        offline = ("The Hub is offline here (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE): "
                   if datasets.config.HF_HUB_OFFLINE else "")
        raise ConfigError(
            f"task.source={source!r} (task.subset={subset!r}) could not be loaded with datasets: "
            f"{type(exc).__name__}: {exc}. {offline}set task.source to a local directory or data file "
            f"({'/'.join(sorted(DATA_BUILDERS))}), or to a Hub dataset already in the datasets cache.") from exc
    splits = {}
    for role, name in split_names.items():
        if name not in loaded:
            hint = (" A single data file holds one split, 'train': write '{split}' in task.source to give one "
                    "file per split (data/{split}.jsonl)." if single_file else "")
            raise ConfigError(f"task.{role}_split={name!r} is not a split of task.source={source!r}; its "
                              f"splits: {sorted(loaded)}.{hint}")
        splits[role] = loaded[name]
    return LoadedSource(splits=splits, data_dir=data_dir)


def _load_files(source: str, files: dict[str, Path]) -> Any:
    import datasets

    suffixes = {file.suffix for file in files.values()}
    if len(suffixes) != 1 or not suffixes <= DATA_BUILDERS.keys():
        raise ConfigError(f"task.source={source!r}: the split files {sorted(map(str, files.values()))} "
                          f"must share one extension of {sorted(DATA_BUILDERS)}.")
    builder = DATA_BUILDERS[suffixes.pop()]
    return datasets.load_dataset(builder, data_files={name: str(file) for name, file in files.items()})


def _load_directory(path: Path, subset: str | None, split_names: dict[str, str]) -> Any:
    """``<split>.<ext>`` files read by their builder (so that an image folder beside them is not
    mistaken for the data), a ``save_to_disk`` folder, or whatever ``load_dataset`` makes of it."""
    import datasets

    if (path / "dataset_dict.json").is_file():
        return datasets.load_from_disk(str(path))
    for suffix in DATA_BUILDERS:
        files = {name: path / f"{name}{suffix}" for name in split_names.values()}
        if all(file.is_file() for file in files.values()):
            return _load_files(str(path), files)
    return datasets.load_dataset(str(path), subset)


def report_skipped(task_name: str, skipped: list[tuple[str, str]]) -> None:
    """One warning for the rows a task skipped while loading, ``(place, reason)`` each: the first few
    named, the rest counted (the task keeps the full list in its ``skipped``)."""
    if skipped:
        shown = "; ".join(f"{row}: {why}" for row, why in skipped[:SHOWN_SKIPPED])
        logger.warning("%s: skipped %d bad row(s) (%s%s)", task_name, len(skipped), shown,
                       "; …" if len(skipped) > SHOWN_SKIPPED else "")
