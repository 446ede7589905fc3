"""The aligned-teacher agent in a real episode: every round's pairs and adapter land in the run directory,
DPO is counted in the ledger, and a run killed inside DPO resumes to the uninterrupted run's rows and
adapters (``TEACHENV_CRASH_AT=dpo-step:<round>:<step>``)."""

from __future__ import annotations

import json
import signal

import pytest
import yaml

from teachenv.cli.episode import run_episode
from teachenv.core.config import apply_overrides, validate_config
from teachenv.core.run_dir import RunDirectory
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.teacher.backend import adapter_hash

from tests.cli.test_resume import run_cli, without_timings
from tests.teacher.tiny_recipe import TEST_RECIPE

ROUNDS = 2


def aligned_config(tmp_path, cache_name: str) -> dict:
    teacher = {"name": "tiny-teacher", "recipe": TEST_RECIPE.model_dump(mode="json")}
    return apply_overrides(PLUMBING_DEFAULTS, [
        f"runs_dir={tmp_path / 'runs'}", "seed=5", f"env.max_rounds={ROUNDS}",
        f"agent.teacher={json.dumps(teacher)}",
        "agent.engine.name=aligned-teacher", "agent.engine.examples_per_call=8", "agent.engine.drafts_per_skill=6",
        'agent.engine.align={"steps": 4, "batch_size": 4}',
        f"agent.cache.path={tmp_path / cache_name}",
    ])


def adapters(root) -> list[str]:
    return [adapter_hash(root / "rounds" / str(k) / "agent" / "teacher-adapter") for k in range(1, ROUNDS + 1)]


@pytest.mark.slow
def test_a_run_killed_inside_dpo_resumes_to_the_same_adapters_and_rows(tmp_path):
    straight_root = tmp_path / "runs" / "straight"
    run_episode(validate_config(aligned_config(tmp_path, "straight.sqlite")), RunDirectory(straight_root))
    rows = without_timings(straight_root)
    assert all(r["examples_generated"] > 0 for r in rows[1:]), rows
    pairs = (straight_root / "rounds" / "1" / "agent" / "teacher-pairs.jsonl").read_text().splitlines()
    assert pairs and all({"prompt", "chosen", "rejected"} <= json.loads(p).keys() for p in pairs)
    assert len(set(adapters(straight_root))) == ROUNDS  # round 2 aligned again, from round 1's adapter

    config_path = tmp_path / "crashy.yaml"
    config_path.write_text(yaml.safe_dump(aligned_config(tmp_path, "crashy.sqlite")))
    root = tmp_path / "runs" / "crashy"
    done = run_cli(config_path, "--name", "crashy", crash="dpo-step:2:2")
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert len(without_timings(root)) == 2  # round 0 and round 1 finished; round 2 died inside its DPO
    assert not (root / "rounds" / "2" / "agent" / "teacher-adapter").exists()
    done = run_cli(config_path, "--name", "crashy", "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resumed after round 1" in done.stderr
    assert adapters(root) == adapters(straight_root)
    assert without_timings(root) == rows
