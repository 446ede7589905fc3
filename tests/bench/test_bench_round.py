"""benchmarks/bench_round.py: its smallest run prints every section, consistent with itself (no timing
thresholds: seconds are only checked to add up); its consistency check catches an inconsistent report;
bad arguments are refused naming the value."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_round.py"


def load():
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("bench_round", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: A consistent report with made-up seconds, the shape bench_round prints.
REPORT = {
    "anatomy": {"wall_s": 10.0, "phases_s": {"eval_val": 1.0, "train": 4.0}, "other_s": 5.0},
    "fixed_cost": {"cumulative_s": {"python": 0.1, "+ import teachenv": 0.5}, "by_cause_s": {"python": 0.1, "+ import teachenv": 0.4},
                   "teachenv_help_s": 0.3, "floor_s": 3.0, "one_step_run_s": 4.0, "above_floor_s": 1.0},
    "training": {"rows": 16, "steps": 2, "teachenv_s": 1.0, "trl_s": 1.2, "ratio_trl_over_teachenv": 1.2,
                 "teachenv_loss": 4.3, "trl_loss": 4.3},
    "continual_vs_retrain": {"examples_per_round": 32, "epochs": 1.0, "by_rounds": {
        "2": {"continual": {"train_s": 1.0, "steps": 2}, "retrain": {"train_s": 1.5, "steps": 3}, "ratio_retrain_over_continual": 1.5},
        "3": {"continual": {"train_s": 1.5, "steps": 3}, "retrain": {"train_s": 3.0, "steps": 6}, "ratio_retrain_over_continual": 2.0}}},
    "concurrency": {"alone_s": 5.0, "pair_s": [8.0, 9.0], "ratio_slower_over_alone": 1.8},
}


def test_a_consistent_report_passes_and_each_inconsistency_is_named():
    problems = load().problems
    assert problems(REPORT) == []
    breaks = {
        "anatomy": lambda r: r["anatomy"]["phases_s"].update(train=40.0),
        "causes": lambda r: r["fixed_cost"]["by_cause_s"].update(python=0.3),
        "fewer steps": lambda r: r["continual_vs_retrain"]["by_rounds"]["3"]["retrain"].update(steps=1),
        "loss": lambda r: r["training"].update(trl_loss=5.0),
        "missing": lambda r: r.pop("concurrency"),
    }
    for said, corrupt in breaks.items():
        report = copy.deepcopy(REPORT)
        corrupt(report)
        assert problems(report), said


@pytest.mark.parametrize("argv, said", [(["--rounds", "5,ten"], "5,ten"), (["--rounds", "0,5"], "0,5")])
def test_bad_rounds_are_refused_naming_the_value(argv, said, capsys):
    with pytest.raises(SystemExit) as exc:
        load().main(argv)
    assert exc.value.code == 2 and said in capsys.readouterr().err


@pytest.mark.slow
def test_the_smoke_run_prints_every_section_consistently(tmp_path):
    env = {**os.environ, "TEACHENV_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--repeats", "1", "--rounds", "2,3"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    start = done.stdout.index('{\n  "cores"')  # TRL's own trainer may print its metrics dict before
    report, end = json.JSONDecoder().raw_decode(done.stdout, start)
    module = load()
    assert set(module.SECTIONS) <= set(report) and module.problems(report) == []
    anatomy = report["anatomy"]
    assert anatomy["phases_s"]["train"] > 0 and sum(anatomy["phases_s"].values()) <= anatomy["wall_s"]
    by_rounds = report["continual_vs_retrain"]["by_rounds"]
    assert by_rounds["3"]["retrain"]["steps"] > by_rounds["3"]["continual"]["steps"]  # epoch-faithful: steps grow
    table = done.stdout[end:]
    for row in ("anatomy", "floor", "bare TRL", "3 rounds of 32", "two runs at once"):
        assert row in table, row
