"""The training-loop benchmark replays the trainer's own batches through a plain loop: the per-step losses
agree (the same arithmetic), teachenv's lean trainer computes exactly TRL's own trainer's losses, and its time
split adds up."""

from __future__ import annotations

import pytest

from script_loader import load_script


def test_the_plain_loop_replays_the_trainers_batches_with_the_same_losses_and_the_split_adds_up(capsys):
    report = load_script("benchmarks/bench_train_loop.py").main(["--steps", "4", "--rows", "64", "--repeats", "1"])
    assert report["max_per_step_loss_difference_first_10"] < 1e-4
    # Dropping the metrics' entropy / top-1 outputs from the fused head leaves the loss bit for bit as TRL's.
    assert report["max_per_step_loss_difference_vs_stock_trl"] == 0.0
    for side in ("trainer", "stock_trl", "plain_loop"):
        times = report[side]
        assert times["wall_s"] == pytest.approx(times["setup_s"] + times["loop_s"])
        assert times["loop_s"] == pytest.approx(times["forward_backward_s"] + times["optimizer_s"] + times["other_s"])
        assert min(times["loop_s"], times["forward_backward_s"], times["optimizer_s"]) > 0
    assert report["plain_loop"]["setup_s"] == 0
    assert "trainer loop ÷ plain loop" in capsys.readouterr().out
