"""Every environment structure runs a whole episode from ``teachenv run`` on the arithmetic world with
its baseline policy, and the open-ended and skill-tree ones with the LLM policy against the
scripted teacher server: every round trains on accepted data and the trajectory is in the run directory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from teachenv.core.config import apply_overrides
from teachenv.envs.defaults import PLUMBING_DEFAULTS

BASELINES = [
    ("teachenv/SkillList-v0", "weakest-skill"),
    ("teachenv/OpenEnded-v0", "weakest-skill"),
    ("teachenv/SkillTree-v0", "explore-exploit"),
]
LLM = {"agent.policy.name": "llm", "agent.engine.name": "llm", "agent.teacher.name": "scripted",
       "agent.cache.enabled": "false", "agent.engine.examples_per_call": "12"}


def run(tmp_path, env_id: str, **overrides: str) -> list[dict]:
    config = apply_overrides(PLUMBING_DEFAULTS, [f"env.id={env_id}", f"runs_dir={tmp_path / 'runs'}",
                                              *(f"{k}={v}" for k, v in overrides.items())])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([sys.executable, "-m", "teachenv.cli.main", "run", str(path), "--name", "r"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "runs" / "r"
    rows = [json.loads(line) for line in (root / "episode.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1, 2, 3]
    for k in range(4):
        assert (root / "rounds" / str(k) / "state.json").is_file()
    return rows


@pytest.mark.parametrize("env_id, policy", BASELINES)
def test_a_baseline_policy_runs_an_episode_of_every_structure(tmp_path, env_id, policy):
    rows = run(tmp_path, env_id, **{"agent.policy.name": policy})
    assert all(r["examples_accepted"] > 0 for r in rows[1:]), [r["examples_accepted"] for r in rows]
    assert all("plan_error" not in r for r in rows)
    root = tmp_path / "runs" / "r"
    state = json.loads((root / "rounds" / "3" / "state.json").read_text())
    if env_id.endswith("SkillTree-v0"):
        # Explore (round 1), exploit (round 2), explore (round 3): subskills grow and were trained.
        nodes = state["tree"]
        assert all(1 <= len(n["subskills"]) <= 2 for n in nodes)
        assert sum(s["examples"] for n in nodes for s in n["subskills"]) == sum(r["examples_accepted"] for r in rows)
        assert json.loads((root / "rounds" / "1" / "agent_action.json").read_text())["decisions"]
    if env_id.endswith("OpenEnded-v0"):
        assert state["errors"] and json.loads((root / "rounds" / "1" / "action.json").read_text())["plan"]


@pytest.mark.parametrize("env_id", ["teachenv/OpenEnded-v0", "teachenv/SkillTree-v0"])
def test_the_llm_policy_teaches_through_the_scripted_teacher_server(tmp_path, env_id):
    rows = run(tmp_path, env_id, **LLM)
    assert all(r["examples_accepted"] > 0 for r in rows[1:]), [r["examples_accepted"] for r in rows]
    assert rows[-1]["cost"]["tokens"]["policy"]["calls"] >= 3
    summary = json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())
    assert summary["teacher_calls"]["misses"] > 0


def test_teachenv_list_shows_every_registered_structure_and_world():
    from teachenv.envs.registration import ENV_IDS

    done = subprocess.run([sys.executable, "-m", "teachenv.cli.main", "list"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(ENV_IDS) == 7  # 3 structures x 2 worlds, and the surrogate skill list
    for env_id in ENV_IDS:
        assert env_id in done.stdout
    assert "explore-exploit" in done.stdout and "learning-progress" in done.stdout
