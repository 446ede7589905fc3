"""`teachenv bench`: a suite's agents × environments × seeds through the CLI, on the untrained plumbing
student: run directories with bench.json, skipping finished episodes, resuming unfinished ones,
recording failures, refusing malformed suites before anything runs; and the suite's expansion."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from teachenv.bench.runner import Attempt, _progress, prepare, record, schedule, status, student_build_key
from teachenv.bench.suite import expand, load_suite
from teachenv.core.config import load_config
from teachenv.core.errors import ConfigError
from teachenv.envs.defaults import PLUMBING_DEFAULTS

REPO = Path(__file__).resolve().parents[2]
SUITE_FILES = sorted((REPO / "configs" / "suites").glob("*.yaml"))
AGENTS = {"uniform": {"agent.policy": {"name": "uniform"}}, "random": {"agent.policy": {"name": "random"}}}
ENVIRONMENTS = {"SkillList-v0": {"env.id": "teachenv/SkillList-v0"}}
#: An agent whose episodes fail at run time, fast: the llm engine without a teacher model.
BROKEN = {"agent.engine": {"name": "llm"}}


def write_suite(folder: Path, **fields) -> Path:
    """A suite over the plumbing config (untrained student) in ``folder``, runs under ``folder/runs``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.yaml").write_text(yaml.safe_dump(PLUMBING_DEFAULTS))
    suite = {"name": "tiny", "base": "base.yaml", "runs_dir": str(folder / "runs"), "seeds": [0, 1],
             "set": {"env.max_rounds": 2, "env.examples_per_round": 32}, "agents": AGENTS,
             "environments": ENVIRONMENTS, "workers": 2, **fields}
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def bench(suite: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TEACHENV_HOME": str(suite.parent / "home"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "teachenv.cli.main", "bench", str(suite), *args],
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def finished_suite(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The 2 agents × 1 environment × 2 seeds suite, run once with 2 workers."""
    suite = write_suite(tmp_path_factory.mktemp("bench"))
    return suite, bench(suite)


def run_dirs(suite: Path) -> dict[str, Path]:
    runs = suite.parent / "runs"
    return {f"{agent}/seed-{seed}": runs / "SkillList-v0" / agent / f"seed-{seed}"
            for agent in AGENTS for seed in (0, 1)}


# -- through the CLI -----------------------------------------------------------------------------


def test_bench_runs_every_episode_into_a_run_directory_with_bench_json(finished_suite):
    suite, done = finished_suite
    assert done.returncode == 0, done.stderr + done.stdout
    for label, root in run_dirs(suite).items():
        agent, seed = label.split("/seed-")
        assert (root / "summary.json").is_file(), label
        assert not (root / "error.json").exists()
        record = json.loads((root / "bench.json").read_text())
        assert record.pop("started_at") <= time.time()  # when the episode first started: claims count later runs
        assert record == {"suite": "tiny", "agent": agent, "environment": "SkillList-v0", "seed": int(seed)}
        assert [json.loads(line)["round"] for line in (root / "episode.jsonl").read_text().splitlines()] == [0, 1, 2]
        log = (root / "bench.log").read_text()
        assert "--resume" in log and "threads=" in log
    assert "4 done, 0 skipped, 0 failed of 4 episodes" in done.stdout


def test_bench_again_skips_every_finished_episode_without_running_it(finished_suite):
    suite, _ = finished_suite
    before = {label: (root / "bench.log").stat().st_mtime_ns for label, root in run_dirs(suite).items()}
    again = bench(suite)
    assert again.returncode == 0, again.stderr
    assert "0 done, 4 skipped, 0 failed of 4 episodes" in again.stdout
    assert {label: (root / "bench.log").stat().st_mtime_ns for label, root in run_dirs(suite).items()} == before


def test_bench_resumes_an_unfinished_episode_and_skips_the_finished_ones(finished_suite):
    """Depends on `teachenv run --resume` (it continues the run from its last finished round)."""
    suite, _ = finished_suite
    root = run_dirs(suite)["uniform/seed-1"]
    rows = (root / "episode.jsonl").read_text().splitlines()
    # As if killed during round 2: its row, its folder and the summary were never written.
    (root / "episode.jsonl").write_text("\n".join(rows[:2]) + "\n")
    (root / "summary.json").unlink()
    shutil.rmtree(root / "rounds" / "2")
    resumed = bench(suite)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert "1 done, 3 skipped, 0 failed of 4 episodes" in resumed.stdout
    after = (root / "episode.jsonl").read_text().splitlines()
    assert after[:2] == rows[:2] and json.loads(after[2])["round"] == 2  # rounds 0-1 kept, round 2 run
    assert (root / "summary.json").is_file()


def test_a_failing_episode_is_recorded_and_the_others_still_run(tmp_path):
    # One worker, the broken agent first: the uniform episode runs after the failure.
    suite = write_suite(tmp_path, seeds=[0], workers=1, agents={"broken": BROKEN, "uniform": AGENTS["uniform"]})
    done = bench(suite)
    assert done.returncode == 1, done.stderr + done.stdout
    runs = tmp_path / "runs" / "SkillList-v0"
    error = json.loads((runs / "broken" / "seed-0" / "error.json").read_text())
    assert "Engine 'llm' needs a teacher model" in error["error"]
    assert error["returncode"] == 2 and isinstance(error["attempt_seconds"], float)
    assert json.loads((runs / "broken" / "seed-0" / "bench.json").read_text())["agent"] == "broken"
    assert (runs / "uniform" / "seed-0" / "summary.json").is_file()
    assert "1 done, 0 skipped, 1 failed of 2 episodes" in done.stdout
    assert "error: Engine 'llm' needs a teacher model" in done.stdout  # the error's last line, in the table


@pytest.mark.parametrize(("fields", "named"), [
    ({"agentz": {}}, ["agentz", "suite.yaml"]),
    ({"agents": {"uniform": {"env.max_roundz": 3}}}, ["env.max_roundz", "SkillList-v0/uniform/seed-0"]),
    ({"agents": {"uni form": {}}}, ["'uni form'", "folder name"]),
    ({"set": {"seed": 3}}, ["set: 'seed' is set by the suite", "seeds"]),
    ({"base": "missing.yaml"}, ["missing.yaml", "relative to the suite file"]),
])
def test_a_malformed_suite_is_refused_naming_the_problem_and_runs_nothing(tmp_path, fields, named):
    done = bench(write_suite(tmp_path, **fields))
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    for text in named:
        assert text in message, message
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="Ray is installed")
def test_a_ray_address_without_ray_installed_names_the_extra_and_runs_nothing(tmp_path):
    done = bench(write_suite(tmp_path, ray={"address": "auto"}))
    assert done.returncode == 2
    assert "pip install 'teachenv[ray]'" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_dry_run_lists_each_episode_with_its_status_and_writes_nothing(tmp_path):
    suite = write_suite(tmp_path)
    done = bench(suite, "--dry-run", "--workers", "1")
    assert done.returncode == 0, done.stderr
    for name in ("SkillList-v0/uniform/seed-0", "SkillList-v0/random/seed-1"):
        assert name in done.stdout
    assert "4 episodes; 1 worker(s)" in done.stdout
    assert not (tmp_path / "runs").exists()


# -- in process ----------------------------------------------------------------------------------


def test_overrides_apply_set_then_environment_then_agent_and_replace_a_mapping_whole(tmp_path):
    suite = write_suite(tmp_path, agents={
        "weakest": {"agent.policy": {"name": "weakest-skill", "focus": 1}, "env.max_rounds": 3},
        "uniform": AGENTS["uniform"],
    }, vary_student_seed=True)
    episodes = expand(load_suite(suite))
    assert [e.name for e in episodes] == ["SkillList-v0/weakest/seed-0", "SkillList-v0/uniform/seed-0",
                                          "SkillList-v0/weakest/seed-1", "SkillList-v0/uniform/seed-1"]
    weakest, uniform = episodes[2].config, episodes[3].config
    assert weakest.env.max_rounds == 3 and uniform.env.max_rounds == 2
    assert weakest.agent.policy.options == {"focus": 1, "replay_share": 0.5}
    assert uniform.agent.policy.options == {}  # weakest-skill's options are not inherited
    assert weakest.seed == 1 and weakest.student.tiny.seed == 1 and weakest.name == "SkillList-v0/weakest/seed-1"
    assert Path(weakest.runs_dir) == tmp_path / "runs"


def test_varying_the_student_seed_sets_the_recipe_of_the_student_in_use(tmp_path):
    suite = write_suite(tmp_path, vary_student_seed=True, set={"env.max_rounds": 2, "student.model": "tiny-context"})
    config = expand(load_suite(suite))[-1].config
    assert config.student.tiny_context.seed == 1 and config.student.tiny.seed == 0


def test_a_later_successful_attempt_removes_error_json(tmp_path):
    episode = expand(load_suite(write_suite(tmp_path)))[0]
    prepare(episode)
    failed = record(episode, Attempt(1, 2.0, "Traceback ...\nRuntimeError: boom"))
    assert failed.outcome == "failed" and failed.error_line == "RuntimeError: boom" and status(episode) == "failed"
    (episode.run_dir / "summary.json").write_text("{}")
    assert record(episode, Attempt(0, 3.0)).outcome == "done"
    assert not (episode.run_dir / "error.json").exists() and status(episode) == "finished"


def test_episodes_needing_the_same_unbuilt_student_wait_for_the_first_to_build_it(tmp_path):
    episodes = expand(load_suite(write_suite(tmp_path, seeds=[0, 1, 2])))  # 6 episodes
    keys = {e.name: "student-a" for e in episodes[:3]}  # the other three build nothing
    spans, lock = {}, threading.Lock()

    def execute(args, run_dir):
        started = time.monotonic()
        time.sleep(0.2)
        (run_dir / "summary.json").write_text("{}")
        with lock:
            spans[run_dir] = (started, time.monotonic())
        return Attempt(0, 0.2)

    progress = _progress(Console(file=io.StringIO()))
    results = schedule(episodes, keys, 3, execute, progress, progress.add_task("", total=len(episodes)))
    assert all(r.outcome == "done" for r in results)
    builder = spans[episodes[0].run_dir]
    for other in episodes[1:3]:
        assert spans[other.run_dir][0] >= builder[1]  # started after the build finished
    assert any(spans[e.run_dir][0] < builder[1] for e in episodes[3:])  # ran beside the build


def test_only_a_pretrained_tiny_student_not_yet_cached_is_a_build_key(tmp_path, monkeypatch):
    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path / "home"))
    plumbing = expand(load_suite(write_suite(tmp_path / "a")))[0]
    pretrained = {"student.model": "tiny", "student.tiny.pretrain_steps": 10}
    tiny = expand(load_suite(write_suite(tmp_path / "b", set=pretrained)))[0]
    assert student_build_key(plumbing) is None
    key = student_build_key(tiny)
    assert key is not None and Path(key).parent == tmp_path / "home" / "students"
    Path(key).mkdir(parents=True)
    assert student_build_key(tiny) is None
    context = expand(load_suite(write_suite(tmp_path / "c", set={"student.model": "tiny-context"})))[0]
    assert Path(student_build_key(context)).name.startswith("tiny-context-")


@pytest.mark.parametrize("path", SUITE_FILES, ids=[p.name for p in SUITE_FILES])
def test_every_shipped_suite_expands_into_valid_episodes(path):
    suite = load_suite(path)
    episodes = expand(suite)
    cfg = suite.config
    assert len(episodes) == len(cfg.seeds) * len(cfg.agents) * len(cfg.environments)


def test_cpu_offline_suite_runs_three_policies_over_five_seeds():
    suite = load_suite(REPO / "configs" / "suites" / "cpu-offline.yaml")
    policies = {e.agent: e.config.agent.policy.name for e in expand(suite)}
    assert policies == {"weakest-skill": "weakest-skill", "random": "random", "uniform": "uniform"}
    assert suite.config.seeds == [10, 11, 12, 13, 14]


def test_cpu_offline_suite_trains_as_much_in_total_as_the_quickstart_in_quarter_size_rounds():
    quickstart = load_config(REPO / "configs" / "quickstart.yaml")
    suite = load_suite(REPO / "configs" / "suites" / "cpu-offline.yaml")

    def totals(cfg):
        return (cfg.env.max_rounds * cfg.env.examples_per_round, cfg.env.max_rounds * cfg.student.train.max_steps)

    for episode in expand(suite):
        assert episode.config.env.max_rounds == 4 * quickstart.env.max_rounds
        assert totals(episode.config) == totals(quickstart)


def test_load_suite_error_names_the_file_and_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"(?s)suite\.yaml.*workers"):
        load_suite(write_suite(tmp_path, workers=0))
