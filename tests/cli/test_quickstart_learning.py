"""The README's quick start really teaches: 3 rounds of weakest-skill on the real tiny student."""

from __future__ import annotations

from pathlib import Path

import pytest

from teachenv.cli.episode import run_episode
from teachenv.core.config import load_config
from teachenv.core.run_dir import RunDirectory

QUICKSTART = Path(__file__).resolve().parents[2] / "configs" / "quickstart.yaml"


@pytest.mark.slow
def test_quickstart_raises_subtraction_and_mean_val_accuracy(tmp_path, tiny_student_dir):
    config = load_config(QUICKSTART, [f"runs_dir={tmp_path}"])
    outcome = run_episode(config, RunDirectory(tmp_path / "quickstart"))
    first, last = outcome.first, outcome.last
    assert last.round == 3 and last.terminated
    # The under-weighted skill is what the weakest-skill teacher fixes.
    sub_before, sub_after = first.val.accuracy_by_skill["sub"], last.val.accuracy_by_skill["sub"]
    assert sub_before < 0.3
    assert sub_after - sub_before >= 0.3, (sub_before, sub_after)
    assert last.val.accuracy > first.val.accuracy
    assert last.test is not None and last.test.accuracy > first.test.accuracy
    assert outcome.peak_memory_mb < 2048
