"""How `teachenv` exits: what is left alive is frozen after every other exit handler, so Python's final
collections skip it, and the process still writes everything and exits with the command's status."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

from teachenv.cli import main as cli


def test_main_registers_the_freeze_before_the_command_runs_so_it_runs_after_every_other_exit_handler(monkeypatch):
    events = []
    monkeypatch.setattr(cli.atexit, "register", lambda handler: events.append(("registered", handler)))
    monkeypatch.setattr(cli, "app", lambda: events.append(("command", None)))
    cli.main()
    assert events == [("registered", gc.freeze), ("command", None)]  # atexit runs handlers last-registered first


def test_a_command_run_as_a_process_prints_all_of_its_output_and_keeps_its_exit_status(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TEACHENV_HOME": str(tmp_path)}
    listed = subprocess.run([sys.executable, "-m", "teachenv.cli.main", "list"], capture_output=True, text=True,
                            env=env)
    assert listed.returncode == 0, listed.stderr
    assert "teachenv/SkillList-v0" in listed.stdout and "teachenv/SurrogateSkillList-v0" in listed.stdout
    wrong = subprocess.run([sys.executable, "-m", "teachenv.cli.main", "run", str(tmp_path / "missing.yaml")],
                           capture_output=True, text=True, env=env)
    assert wrong.returncode != 0 and "missing.yaml" in wrong.stderr
