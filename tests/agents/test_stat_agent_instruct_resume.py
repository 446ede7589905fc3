"""STAT's profile and AgentInstruct's stage artefacts come back on ``teachenv run --resume`` through the agent
workspace: a run killed while writing round 2 and resumed ends with the same rows and the same per-round
agent artefacts as an uninterrupted run, and asks the teacher nothing twice (plumbing student, scripted
teacher server in this process, so it sees every call)."""

from __future__ import annotations

import json
import signal
from collections import Counter

import pytest
import yaml

from teachenv.cli.episode import run_episode
from teachenv.core.config import apply_overrides, validate_config
from teachenv.core.run_dir import RunDirectory
from teachenv.envs.build import build_task
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.scripted.brain import ScriptedTeacher
from teachenv.scripted.server import ScriptedTeacherServer
from tests.cli.test_resume import run_cli, without_timings

ROUNDS = 3


def config(tmp_path, url: str, cache: str) -> dict:
    return apply_overrides(PLUMBING_DEFAULTS, [
        f"runs_dir={tmp_path / 'runs'}", "seed=3", f"env.max_rounds={ROUNDS}", "budget.examples=null",
        "env.examples_per_round=10",
        f"agent.teacher={json.dumps({'name': 'openai', 'model': 'scripted-teacher', 'base_url': url, 'max_retries': 0})}",
        "agent.policy.name=stat-syn", "agent.policy.labeller=llm",
        "agent.engine.name=agent-instruct", "agent.engine.stages=llm", f"agent.cache.path={tmp_path / cache}",
    ])


@pytest.fixture()
def server():
    with ScriptedTeacherServer(ScriptedTeacher(build_task(validate_config(PLUMBING_DEFAULTS)), wrong_rate=0.1)) as running:
        yield running


def agent_files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("rounds/*/agent/*"))}


def test_stat_and_agent_instruct_artefacts_and_memory_come_back_on_resume(tmp_path, server) -> None:
    run_episode(validate_config(config(tmp_path, server.url, "straight.sqlite")), RunDirectory(tmp_path / "runs" / "straight"))
    calls_straight = Counter(server.calls_by_body)
    straight = tmp_path / "runs" / "straight"
    assert (straight / "rounds" / "1" / "agent" / "stat-profile.json").is_file()
    assert (straight / "rounds" / "1" / "agent" / "agentinstruct-log.json").is_file()

    path = tmp_path / "crashy.yaml"
    path.write_text(yaml.safe_dump(config(tmp_path, server.url, "crashy.sqlite")))
    before = Counter(server.calls_by_body)
    done = run_cli(path, "--name", "crashy", crash="record:2")
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    done = run_cli(path, "--name", "crashy", "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    root = tmp_path / "runs" / "crashy"
    assert without_timings(root) == without_timings(straight)
    assert agent_files(root) == agent_files(straight)
    history = json.loads((root / "rounds" / str(ROUNDS) / "agent" / "stat-history.json").read_text())
    assert [h["round"] for h in history] == list(range(1, ROUNDS + 1))  # memory of every round, replayed ones too
    assert Counter(server.calls_by_body) - before == calls_straight, "the resumed run asked something twice"
