"""The exit benchmark: a repeat runs the floor with SFTTrainer right before the run, the floors differ only in their
exit, the run minus the floor is paired within each repeat, and a baseline checkout's teachenv is the one imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]


def test_a_repeat_runs_the_floor_with_sft_right_before_the_run_and_the_floors_differ_only_in_their_exit(tmp_path):
    bench = load_script("benchmarks/bench_exit.py")
    argv = bench.commands(tmp_path / "one-step.yaml", baseline=ROOT)
    labels = list(argv)
    assert labels[-2:] == [bench.FLOOR_SFT, bench.RUN] and bench.BASELINE_RUN in labels
    default, frozen = argv["floor, default exit"][-1], argv["floor, CLI's exit"][-1]
    assert frozen == f"{bench.FROZEN_EXIT}; {default}" and "gc.freeze" not in default
    assert list(bench.commands(tmp_path / "one-step.yaml", pair_only=True)) == [bench.FLOOR_SFT, bench.RUN]


def test_the_difference_is_paired_within_each_repeat():
    bench = load_script("benchmarks/bench_exit.py")
    runs = {"run": [5.0, 5.5, 4.9], "floor": [4.5, 4.6, 4.6]}
    above = bench.paired_differences(runs, "run", "floor")
    assert above["runs"] == pytest.approx([0.5, 0.9, 0.3])
    assert (above["median"], above["min"], above["max"]) == pytest.approx((0.5, 0.3, 0.9))
    with pytest.raises(ValueError, match="same repeats"):
        bench.paired_differences({"run": [1.0], "floor": [1.0, 2.0]}, "run", "floor")


def test_the_baseline_launcher_imports_teachenv_from_the_checkout_given(tmp_path):
    bench = load_script("benchmarks/bench_exit.py")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for package in ("teachenv", "tasks", "agents"):
        (checkout / package).symlink_to(ROOT / package)
    launcher = bench.FROM_CHECKOUT.replace("from teachenv.cli.main import main\nmain()",
                                           "import teachenv; print(teachenv.__file__)")
    done = subprocess.run([sys.executable, "-c", launcher, str(checkout)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(checkout / "teachenv" / "__init__.py")


def test_with_gc_every_process_of_the_pair_reports_its_collector_seconds(tmp_path):
    bench = load_script("benchmarks/bench_exit.py")
    argv = bench.commands(tmp_path / "one-step.yaml", pair_only=True, gc=True)
    assert all(command[2].startswith(bench.GC_HOOK) for command in argv.values())
    code = bench.GC_HOOK + "import gc\nfor _ in range(3): gc.collect()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    seconds = bench.gc_seconds(done.stderr)
    assert done.returncode == 0 and seconds is not None and seconds > 0
    assert bench.gc_seconds("no report here") is None
