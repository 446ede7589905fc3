"""The run directory: atomic writes, refusing to mix runs, the episode log."""

from __future__ import annotations

import json
import os

import pytest

from teachenv.core import run_dir as run_dir_module
from teachenv.core.errors import RunDirectoryError
from teachenv.core.ledger import TokenPrice
from teachenv.core.run_dir import (
    RunDirectory,
    atomic_write_json,
    atomic_write_jsonl,
    atomic_write_text,
    read_jsonl,
)


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_creates_parents_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "a" / "b" / "file.txt"
    atomic_write_text(path, "hello")
    assert path.read_text() == "hello"
    assert _leftovers(path.parent) == []


def test_atomic_write_replaces_existing_content(tmp_path):
    path = tmp_path / "file.txt"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert _leftovers(tmp_path) == []


def test_failed_json_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "data.json"
    atomic_write_json(path, {"ok": 1})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert _leftovers(tmp_path) == []


def test_failure_after_the_temporary_file_is_written_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "data.txt"
    atomic_write_text(path, "old")

    def failing_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(run_dir_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert _leftovers(tmp_path) == []
    assert os.listdir(tmp_path) == ["data.txt"]


def test_json_writers_serialise_pydantic_records(tmp_path):
    atomic_write_json(tmp_path / "price.json", TokenPrice(prompt=1.5))
    assert json.loads((tmp_path / "price.json").read_text()) == {"prompt": 1.5, "completion": 0.0}
    atomic_write_jsonl(tmp_path / "rows.jsonl", [TokenPrice(prompt=1.0), {"x": 1}])
    assert read_jsonl(tmp_path / "rows.jsonl") == [{"prompt": 1.0, "completion": 0.0}, {"x": 1}]


def test_read_jsonl_of_a_missing_file_is_empty(tmp_path):
    assert read_jsonl(tmp_path / "absent.jsonl") == []


def test_create_writes_the_config(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.create("seed: 1\n")
    assert run.config_path.read_text() == "seed: 1\n"
    assert run.episode_rows() == []


def test_create_refuses_a_directory_that_holds_a_run(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.create("seed: 1\n")
    run.append_episode_row({"round": 0})
    with pytest.raises(RunDirectoryError, match="--overwrite"):
        RunDirectory(tmp_path / "run").create("seed: 2\n")
    assert run.config_path.read_text() == "seed: 1\n"
    assert run.episode_rows() == [{"round": 0}]


def test_create_with_overwrite_removes_the_old_run(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.create("seed: 1\n")
    run.append_episode_row({"round": 0})
    atomic_write_text(run.round_dir(1) / "train.json", "{}")
    run.create("seed: 2\n", overwrite=True)
    assert run.config_path.read_text() == "seed: 2\n"
    assert run.episode_rows() == []
    assert not run.round_dir(1).exists()


def test_appended_episode_rows_read_back_in_order(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.create("{}\n")
    rows = [{"round": 0, "val_accuracy": 0.25, "reward": None}, {"round": 1, "val_accuracy": 0.5, "reward": 0.25}]
    for row in rows:
        run.append_episode_row(row)
    assert run.episode_rows() == rows
    assert len(run.episode_path.read_text().splitlines()) == 2
    assert _leftovers(run.root) == []


def test_round_directories_are_numbered_under_rounds(tmp_path):
    run = RunDirectory(tmp_path / "run")
    assert run.round_dir(3) == tmp_path / "run" / "rounds" / "3"
