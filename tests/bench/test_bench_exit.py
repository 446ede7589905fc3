"""The exit benchmark's 'before' runs the CLI's own typer app, and the floors it compares exit as described."""

from __future__ import annotations

import subprocess

from script_loader import load_script


def test_the_before_command_runs_the_cli_app_and_the_floors_differ_only_in_their_exit(tmp_path):
    bench = load_script("benchmarks/bench_exit.py")
    argv = bench.commands(tmp_path / "one-step.yaml")
    before = subprocess.run(argv["teachenv --help, before"], capture_output=True, text=True)
    assert before.returncode == 0 and "run" in before.stdout and "leaderboard" in before.stdout
    default, frozen = argv["floor, default exit"][-1], argv["floor, CLI's exit"][-1]
    assert frozen == f"{bench.FROZEN_EXIT}; {default}" and "gc.freeze" not in default
