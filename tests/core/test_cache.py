"""The on-disk response cache: persistence across connections, batches, a killed writer, concurrency."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3

import pytest

from teachenv.core.cache import ResponseCache
from teachenv.core.errors import ConfigError


def test_values_persist_across_connections(tmp_path):
    path = tmp_path / "c" / "responses.sqlite"
    cache = ResponseCache(path)
    cache.put("a:1", {"text": "hello", "n": [1, 2]})
    cache.put_many({f"k{i}": i for i in range(1200)})  # more than one SQL chunk
    cache.close()
    again = ResponseCache(path)
    assert again.get("a:1") == {"text": "hello", "n": [1, 2]}
    found = again.get_many([f"k{i}" for i in range(1200)] + ["missing"])
    assert len(found) == 1200 and found["k1199"] == 1199 and "missing" not in found
    assert again.get("missing") is None
    assert len(again) == 1201


def _write_forever(path: str, ready) -> None:
    cache = ResponseCache(path)
    i = 0
    while True:
        cache.put_many({f"row{i}-{j}": {"i": i, "blob": "x" * 2000} for j in range(50)})
        i += 1
        if i == 5:
            ready.set()


def test_a_writer_killed_mid_write_leaves_whole_batches(tmp_path):
    path = tmp_path / "responses.sqlite"
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    writer = ctx.Process(target=_write_forever, args=(str(path), ready))
    writer.start()
    assert ready.wait(60)
    os.kill(writer.pid, signal.SIGKILL)
    writer.join()
    cache = ResponseCache(path)
    rows = len(cache)
    assert rows >= 250 and rows % 50 == 0  # each batch is one transaction: all of it or none
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_two_connections_share_one_file(tmp_path):
    path = tmp_path / "responses.sqlite"
    first, second = ResponseCache(path), ResponseCache(path)
    first.put("x", 1)
    assert second.get("x") == 1


def test_an_unwritable_path_is_a_config_error_naming_the_setting(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="agent.cache.path"):
        ResponseCache(blocker / "responses.sqlite")
