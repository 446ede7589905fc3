"""A run killed with SIGKILL and resumed ends exactly where an uninterrupted run of the same seed ends.

The LLM policy and the LLM data engine talk to a scripted teacher server running in this test
process, so the server sees every call of every attempt: resuming pays for none twice. Crashes come
from ``TEACHENV_CRASH_AT`` (deterministic points, see ``teachenv.cli.crash_points``); each attempt of the
interrupted run dies at a different point of a different round, the last one is resumed to the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
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

ROUNDS = 4
#: Where each attempt of the interrupted run dies: after round 1's generation, inside round 2's
#: training (after its first optimizer step), and while round 3 is written (its files are on disk,
#: its episode row is not).
CRASHES = ("verify:1", "train-step:2:1", "record:3")


def llm_config(tmp_path, server_url: str, cache_name: str) -> dict:
    return apply_overrides(PLUMBING_DEFAULTS, [
        f"runs_dir={tmp_path / 'runs'}",
        "seed=7",
        f"env.max_rounds={ROUNDS}",
        "student.train.max_steps=4",
        f"agent.teacher={json.dumps({'name': 'openai', 'model': 'scripted-teacher', 'base_url': server_url, 'max_retries': 0})}",
        "agent.policy.name=llm",
        "agent.engine.name=llm",
        "agent.engine.examples_per_call=8",
        f"agent.cache.path={tmp_path / cache_name}",
    ])


def run_cli(config_path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TEACHENV_CRASH_AT"}
    if crash is not None:
        env["TEACHENV_CRASH_AT"] = crash
    return subprocess.run([sys.executable, "-m", "teachenv.cli.main", "run", str(config_path), *args],
                          capture_output=True, text=True, timeout=600, env=env)


def without_timings(run_root) -> list[dict]:
    rows = [json.loads(line) for line in (run_root / "episode.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k != "timings"} for row in rows]


@pytest.fixture()
def server():
    config = validate_config(PLUMBING_DEFAULTS)
    with ScriptedTeacherServer(ScriptedTeacher(build_task(config))) as running:
        yield running


def test_a_killed_run_resumes_to_the_uninterrupted_result_without_paying_twice(tmp_path, server):
    # The uninterrupted run, with its own response cache.
    straight = validate_config(llm_config(tmp_path, server.url, "straight.sqlite"))
    run_episode(straight, RunDirectory(tmp_path / "runs" / "straight"))
    calls_straight = Counter(server.calls_by_body)
    assert sum(calls_straight.values()) > 0

    # The same run, killed three times and resumed, with a fresh cache.
    config_path = tmp_path / "crashy.yaml"
    config_path.write_text(yaml.safe_dump(llm_config(tmp_path, server.url, "crashy.sqlite")))
    root = tmp_path / "runs" / "crashy"
    before = Counter(server.calls_by_body)
    for attempt, crash in enumerate(CRASHES):
        done = run_cli(config_path, "--name", "crashy", *(["--resume"] if attempt else []), crash=crash)
        assert done.returncode == -signal.SIGKILL, (crash, done.stderr[-2000:])
        finished = len(without_timings(root)) - 1
        assert not (root / "summary.json").exists()
        # What the crash interrupted is on disk half done, and the resume must not trust it.
        if crash.startswith("record"):
            assert (root / "rounds" / str(finished + 1) / "result.json").exists()
    assert finished == 2  # the last crash came while round 3 was written
    done = run_cli(config_path, "--name", "crashy", "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resumed after round 2" in done.stderr

    rows = without_timings(tmp_path / "runs" / "straight")
    assert rows[-1]["cost"]["teacher_tokens"] > 0 and all(r["examples_accepted"] > 0 for r in rows[1:])
    assert without_timings(root) == rows
    assert json.loads((root / "summary.json").read_text())["resumed_from"] == 2
    calls_crashy = Counter(server.calls_by_body) - before
    assert calls_crashy == calls_straight, "the resumed run asked the teacher something twice, or skipped a call"
    # Resuming a finished run runs nothing.
    again = run_cli(config_path, "--name", "crashy", "--resume")
    assert again.returncode == 0 and "already finished" in again.stderr


def test_resume_refuses_a_changed_config_and_cleans_half_written_rounds(tmp_path):
    config = validate_config(apply_overrides(PLUMBING_DEFAULTS, [f"runs_dir={tmp_path}", "env.max_rounds=2"]))
    run_dir = RunDirectory(tmp_path / "r")
    run_episode(config, run_dir)
    # Pretend the run was killed while writing round 2: drop its row and summary, leave a temp file.
    rows = run_dir.episode_rows()[:-1]
    run_dir.episode_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_dir.summary_path.unlink()
    (run_dir.round_dir(2) / ".train.json.x.tmp").write_text("{")
    changed = validate_config(apply_overrides(PLUMBING_DEFAULTS, [f"runs_dir={tmp_path}", "env.max_rounds=3"]))
    from teachenv.core.errors import RunDirectoryError

    with pytest.raises(RunDirectoryError, match="env.max_rounds: run has 2, config has 3"):
        run_episode(changed, run_dir, resume=True)
    outcome = run_episode(config, run_dir, resume=True)
    assert outcome.resumed_from == 1 and outcome.last.round == 2
    assert not list(run_dir.root.rglob("*.tmp"))
    assert [r["round"] for r in run_dir.episode_rows()] == [0, 1, 2]


def test_a_run_recorded_before_a_field_was_added_resumes_and_a_changed_value_is_still_refused(tmp_path):
    config = validate_config(apply_overrides(PLUMBING_DEFAULTS, [f"runs_dir={tmp_path}", "env.max_rounds=2"]))
    run_dir = RunDirectory(tmp_path / "r")
    run_episode(config, run_dir)
    run_dir.episode_path.write_text("".join(json.dumps(r) + "\n" for r in run_dir.episode_rows()[:-1]))
    run_dir.summary_path.unlink()
    # As an older teachenv wrote it: without a field this version adds with a default that keeps behaviour.
    old = yaml.safe_load(run_dir.config_path.read_text())
    del old["student"]["tiny_context"]
    old_text = yaml.safe_dump(old, sort_keys=False)
    run_dir.config_path.write_text(old_text)
    from teachenv.core.errors import RunDirectoryError

    old["student"]["tiny"]["seed"] = 5  # a value that changes the run is refused, named
    run_dir.config_path.write_text(yaml.safe_dump(old, sort_keys=False))
    with pytest.raises(RunDirectoryError, match="student.tiny.seed"):
        run_episode(config, run_dir, resume=True)
    run_dir.config_path.write_text(old_text)
    outcome = run_episode(config, run_dir, resume=True)
    assert outcome.resumed_from == 1 and [r["round"] for r in run_dir.episode_rows()] == [0, 1, 2]
    assert run_dir.config_path.read_text() == old_text  # the record is left as the run wrote it


def test_a_run_directory_without_resume_records_is_refused(tmp_path):
    config = validate_config(apply_overrides(PLUMBING_DEFAULTS, [f"runs_dir={tmp_path}", "env.max_rounds=1"]))
    run_dir = RunDirectory(tmp_path / "r")
    run_episode(config, run_dir)
    run_dir.summary_path.unlink()
    (run_dir.round_dir(1) / "result.json").unlink()
    from teachenv.core.errors import RunDirectoryError

    with pytest.raises(RunDirectoryError, match="result.json' is missing"):
        run_episode(config, run_dir, resume=True)
