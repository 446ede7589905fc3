"""`teachenv run` end to end on the plumbing config: run directory, log schema, determinism."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from teachenv.cli.episode import run_episode
from teachenv.core.config import apply_overrides, validate_config
from teachenv.core.run_dir import RunDirectory
from teachenv.envs.defaults import PLUMBING_DEFAULTS

REQUIRED_ROW_KEYS = {
    "round", "val_accuracy", "val_accuracy_by_skill", "reward", "examples_generated", "examples_accepted",
    "examples_rejected", "cost", "timings",
}


def run_cli(tmp_path, config: dict, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**config, "runs_dir": str(tmp_path / "runs")}))
    return subprocess.run([sys.executable, "-m", "teachenv.cli.main", "run", str(path), *args],
                          capture_output=True, text=True, timeout=600)


def episode_log(tmp_path, name: str, *overrides: str) -> list[dict]:
    """Run the plumbing config in-process; the episode log without its timing fields."""
    config = validate_config(apply_overrides(PLUMBING_DEFAULTS, [f"runs_dir={tmp_path}", *overrides]))
    outcome = run_episode(config, RunDirectory(tmp_path / name))
    return [{k: v for k, v in row.items() if k != "timings"} for row in outcome.run_dir.episode_rows()]


def test_run_writes_the_documented_run_directory(tmp_path):
    done = run_cli(tmp_path, PLUMBING_DEFAULTS, "--name", "a", "--seed", "5")
    assert done.returncode == 0, done.stderr
    root = tmp_path / "runs" / "a"
    rows = [json.loads(line) for line in (root / "episode.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1, 2, 3]
    for row in rows:
        assert REQUIRED_ROW_KEYS <= set(row)
    assert "test_accuracy" in rows[0] and "test_accuracy" in rows[-1]
    assert all("test_accuracy" not in r for r in rows[1:-1])
    assert rows[0]["reward"] is None and rows[0]["examples_generated"] == 0
    resolved = yaml.safe_load((root / "config.yaml").read_text())
    assert resolved["seed"] == 5 and resolved["task"]["val_per_skill"] == 4
    for k in (1, 2, 3):
        folder = root / "rounds" / str(k)
        for name in ("action.json", "generated.jsonl", "rejected.jsonl", "train.json", "predictions.jsonl"):
            assert (folder / name).is_file(), f"missing rounds/{k}/{name}"
        assert (folder / "adapter" / "adapter_config.json").is_file()
    summary = json.loads((root / "summary.json").read_text())
    assert summary["peak_memory_mb"] > 0 and summary["rounds"] == 3
    # Accuracies rounded for people (no 0.5599999999999999); no teacher made no calls.
    assert summary["test_gain"] == round(summary["test_gain"], 6)
    assert all(v == round(v, 6) for v in summary["val_accuracy_by_skill"]["end"].values())
    assert summary["teacher_calls"] == {"hits": 0, "misses": 0, "new_prompt_tokens": 0, "new_completion_tokens": 0}
    assert "mean" in done.stdout and "peak memory" in done.stdout
    # The same name again is refused (before any model is built) instead of mixing two runs.
    again = run_cli(tmp_path, PLUMBING_DEFAULTS, "--name", "a")
    assert again.returncode == 2 and "--overwrite" in again.stderr


def test_same_seed_and_config_give_the_same_episode_log(tmp_path):
    first = episode_log(tmp_path, "x", "agent.policy.name=random")
    assert first == episode_log(tmp_path, "y", "agent.policy.name=random")
    assert any(r["examples_accepted"] for r in first)


def test_a_different_seed_gives_a_different_episode(tmp_path):
    one = episode_log(tmp_path, "s1", "seed=1", "agent.policy.name=random")
    two = episode_log(tmp_path, "s2", "seed=2", "agent.policy.name=random")
    assert [r["requested"] for r in one] != [r["requested"] for r in two]


def test_overwrite_replaces_an_earlier_run(tmp_path):
    episode_log(tmp_path, "same")
    config = validate_config(apply_overrides(PLUMBING_DEFAULTS, ["env.max_rounds=2"]))
    outcome = run_episode(config, RunDirectory(tmp_path / "same"), overwrite=True)
    assert [r["round"] for r in outcome.run_dir.episode_rows()] == [0, 1, 2]
    assert not (tmp_path / "same" / "rounds" / "3").exists()


def test_config_errors_name_the_field_and_exit_2(tmp_path):
    done = run_cli(tmp_path, PLUMBING_DEFAULTS, "--set", "student.lora.rank=8")
    assert done.returncode == 2
    assert "student.lora.rank" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["--help"], ["list"]])
def test_cli_starts_without_heavy_imports(command):
    code = ("import sys; sys.argv=['teachenv', *sys.argv[1:]]\n"
            "from teachenv.cli.main import app\n"
            "try:\n    app()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
            "heavy=[m for m in ('torch','transformers','trl','peft','datasets') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
