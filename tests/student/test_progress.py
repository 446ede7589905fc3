"""Long work reports progress in a log: whole lines every few percent or seconds, and from the CLI in a pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import yaml

from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.student.progress import progress_lines


def test_a_log_gets_a_line_every_ten_percent_and_the_steps_are_all_run():
    out = io.StringIO()
    assert list(progress_lines(range(50), "building", out, every_seconds=1e9)) == list(range(50))
    lines = out.getvalue().splitlines()
    assert lines[0] == "building: 50 steps"
    assert [line.split(": ")[1].split("%")[0] for line in lines[1:]] == [str(p) for p in range(10, 101, 10)]
    assert "(50/50 steps)" in lines[-1] and "left" not in lines[-1] and "left" in lines[1]


def test_a_slow_step_gets_its_own_line_before_ten_percent_are_done():
    out = io.StringIO()
    list(progress_lines(range(1000), "building", out, every_seconds=0.0))
    assert len(out.getvalue().splitlines()) == 1 + 1000


def test_the_cli_reports_pretraining_progress_into_a_pipe(tmp_path):
    config = {**PLUMBING_DEFAULTS, "runs_dir": str(tmp_path / "runs"), "env": {**PLUMBING_DEFAULTS["env"], "max_rounds": 1},
              "student": {**PLUMBING_DEFAULTS["student"], "model": "tiny",
                          "tiny": {**PLUMBING_DEFAULTS["student"]["tiny"], "pretrain_steps": 20, "batch_size": 8,
                                   "warmup_steps": 2}}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "TEACHENV_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "teachenv.cli.main", "run", str(path)], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "pretraining tiny student: 20 steps" in done.stderr
    assert "pretraining tiny student: 100% (20/20 steps)" in done.stderr
