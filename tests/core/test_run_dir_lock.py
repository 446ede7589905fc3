"""One writer per run directory: a second process stops with an error naming the holder, and the lock
goes when its holder dies (SIGKILL included), so a resume after a crash is never refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import yaml

from teachenv.core.errors import RunDirectoryError
from teachenv.core.run_dir import RunDirectory

HOLD = textwrap.dedent("""
    import sys, time
    from teachenv.core.run_dir import RunDirectory
    with RunDirectory(sys.argv[1]).writer_lock():
        print("held", flush=True)
        time.sleep(600)
""")


@pytest.fixture
def holder(tmp_path):
    """Another process holding ``tmp_path / 'run'``'s writer lock."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_second_writer_stops_with_an_error_naming_the_holder(tmp_path, holder):
    with pytest.raises(RunDirectoryError, match=rf"in use by pid {holder.pid} on .*--resume"):
        with RunDirectory(tmp_path / "run").writer_lock():
            pass


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path, holder):
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with RunDirectory(tmp_path / "run").writer_lock():
        assert f"pid {os.getpid()} " in (tmp_path / "run" / ".writer.lock").read_text()


def test_overwrite_keeps_the_lock_file_it_holds(tmp_path):
    run_dir = RunDirectory(tmp_path / "run")
    with run_dir.writer_lock():
        run_dir.create("a: 1\n")
        (run_dir.root / "episode.jsonl").write_text("{}\n")
        (run_dir.root / "rounds" / "0").mkdir(parents=True)
        run_dir.create("a: 2\n", overwrite=True)
        assert sorted(p.name for p in run_dir.root.iterdir()) == [".writer.lock", "config.yaml"]


def test_teachenv_run_on_a_directory_in_use_exits_with_the_error(tmp_path, holder):
    from teachenv.envs.defaults import PLUMBING_DEFAULTS

    config = tmp_path / "cheap.yaml"
    config.write_text(yaml.safe_dump({**PLUMBING_DEFAULTS, "runs_dir": str(tmp_path), "name": "run"}))
    done = subprocess.run([sys.executable, "-m", "teachenv.cli.main", "run", str(config), "--resume"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2
    assert f"is in use by pid {holder.pid}" in " ".join(done.stderr.split())
    assert not (tmp_path / "run" / "episode.jsonl").exists()
