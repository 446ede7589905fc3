"""The training-loop benchmark replays the trainer's own batches through a plain loop: teachenv's trainer computes
exactly the plain loop's per-step losses (the same arithmetic), TRL's own trainer the same losses to rounding,
and the time split adds up."""

from __future__ import annotations

import pytest

from script_loader import load_script


def test_the_plain_loop_replays_the_trainers_batches_with_the_same_losses_and_the_split_adds_up(capsys):
    report = load_script("benchmarks/bench_train_loop.py").main(["--steps", "4", "--rows", "64", "--repeats", "1"])
    # On CPU the lean trainer takes the model's own loss, as the plain loop does: bit for bit the same losses.
    assert report["max_per_step_loss_difference"] == 0.0
    # TRL's own trainer computes the same log-probabilities in chunks: the same losses to float rounding.
    assert report["max_per_step_loss_difference_vs_stock_trl_first_10"] < 1e-4
    for side in ("trainer", "stock_trl", "plain_loop"):
        times = report[side]
        assert times["wall_s"] == pytest.approx(times["setup_s"] + times["loop_s"])
        assert times["loop_s"] == pytest.approx(times["forward_backward_s"] + times["optimizer_s"] + times["other_s"])
        assert min(times["loop_s"], times["forward_backward_s"], times["optimizer_s"]) > 0
    assert report["plain_loop"]["setup_s"] == 0
    assert "trainer loop ÷ plain loop" in capsys.readouterr().out
