"""`teachenv bench` on a real Ray cluster: a local one started by this module (``ray.init`` with 2 CPUs
and its own temp dir, shut down at the end). The same suite through Ray and through the process pool
writes the same episode logs (timings aside) on a student that learns; a Ray worker SIGKILLed
mid-episode makes Ray retry it, and the retry resumes the run (each round recorded once); with no
retries the episode is recorded failed with the reason, and running the suite again finishes it."""

from __future__ import annotations

import io
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from teachenv.bench.runner import run_suite
from teachenv.bench.suite import expand, load_suite
from teachenv.envs.defaults import PLUMBING_DEFAULTS

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'teachenv[ray]'")
psutil = pytest.importorskip("psutil")

AGENTS = {"weakest": {"agent.policy": {"name": "weakest-skill"}}, "uniform": {"agent.policy": {"name": "uniform"}}}
#: A small tiny student pretrained briefly (built once, ~30 s; mean val accuracy ~0.47), a few LoRA steps a
#: round: a student that learns (its losses and accuracies are not zero) in seconds per episode.
LEARNING = {"student.model": "tiny", "student.train": {"max_steps": 8, "batch_size": 16},
            "student.tiny": {"hidden_size": 64, "intermediate_size": 128, "num_layers": 2, "pretrain_steps": 800},
            "task": {"name": "arith", "val_per_skill": 6, "test_per_skill": 4},
            "env.max_rounds": 2, "env.examples_per_round": 48}


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of 2 CPUs in its own temp dir, for this module only."""
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    ray.init(num_cpus=2, _temp_dir=temp_dir, include_dashboard=False, _node_ip_address="127.0.0.1",
             object_store_memory=100 * 1024**2, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def write_suite(folder: Path, name: str, *, ray_settings: dict | None, overrides: dict, seeds=(0, 1)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.yaml").write_text(yaml.safe_dump(PLUMBING_DEFAULTS))
    suite = {"name": name, "base": "base.yaml", "runs_dir": str(folder / "runs"), "seeds": list(seeds),
             "set": overrides, "agents": AGENTS, "environments": {"SkillList-v0": {"env.id": "teachenv/SkillList-v0"}},
             "workers": 2, "threads_per_worker": 1}
    if ray_settings is not None:
        suite["ray"] = ray_settings  # the cluster is this module's: ray.init already ran, the address is not used
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def run(suite_path: Path) -> dict[str, object]:
    suite = load_suite(suite_path)
    results = run_suite(suite, expand(suite), workers=suite.config.workers, console=Console(file=io.StringIO()))
    return {r.episode.name: r for r in results}


def rows(run_dir: Path) -> list[dict]:
    """episode.jsonl without what may differ between two runs of the same episode: its timings."""
    lines = (run_dir / "episode.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "timings"} for line in lines]


def attempts(run_dir: Path) -> int:
    return sum(line.startswith("# ") for line in (run_dir / "bench.log").read_text().splitlines())


class Killer(threading.Thread):
    """SIGKILLs the Ray worker running ``run_dir``'s episode once its round ``after`` is recorded."""

    def __init__(self, run_dir: Path, after: int = 1) -> None:
        super().__init__(daemon=True)
        self.run_dir, self.after, self.killed = run_dir, after, None

    def run(self) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and self.killed is None:
            time.sleep(0.05)
            log = self.run_dir / "episode.jsonl"
            if not log.exists() or len(log.read_text().splitlines()) <= self.after:
                continue
            for process in psutil.process_iter(["cmdline"]):
                cmdline = process.info["cmdline"] or []
                # episode_process execs the CLI in place: the episode is `-m teachenv.cli.main`, its parent the worker.
                if "teachenv.cli.main" in cmdline and str(self.run_dir / "bench-config.yaml") in cmdline:
                    worker = process.parent()
                    os.kill(worker.pid, signal.SIGKILL)
                    self.killed = worker.pid
                    return


@pytest.mark.slow
def test_ray_runs_the_suite_like_the_process_pool_and_finishes_an_episode_whose_worker_was_killed(
        cluster, tmp_path):
    pool = write_suite(tmp_path / "pool", "pool", ray_settings=None, overrides=LEARNING)
    on_ray = write_suite(tmp_path / "ray", "ray", ray_settings={"address": "auto", "retries": 0}, overrides=LEARNING)
    assert all(r.outcome == "done" for r in run(pool).values())
    victim = tmp_path / "ray" / "runs" / "SkillList-v0" / "uniform" / "seed-1"
    killer = Killer(victim)
    killer.start()
    first = run(on_ray)
    killer.join(timeout=5)
    assert killer.killed is not None, "the episode finished before its worker could be killed"
    # No retries: the killed episode is recorded failed with the reason, the others finish.
    failed = first["SkillList-v0/uniform/seed-1"]
    assert failed.outcome == "failed" and "Ray task failed" in failed.error
    assert "Ray task failed" in json.loads((victim / "error.json").read_text())["error"]
    assert not (victim / "summary.json").exists() and len(rows(victim)) == 2  # rounds 0 and 1 kept
    assert sorted(r.outcome for r in first.values()) == ["done", "done", "done", "failed"]
    # Running the suite again finishes what is missing (resuming after round 1) and redoes nothing else.
    again = run(on_ray)
    assert {name: r.outcome for name, r in again.items() if r.outcome != "skipped"} == {
        "SkillList-v0/uniform/seed-1": "done"}
    assert json.loads((victim / "summary.json").read_text())["resumed_from"] == 1
    assert not (victim / "error.json").exists() and attempts(victim) == 2
    # Every episode's log equals the process pool's, round by round, each round once.
    losses, accuracies = [], []
    for episode in expand(load_suite(pool)):
        relative = episode.run_dir.relative_to(tmp_path / "pool")
        expected = rows(episode.run_dir)
        assert rows(tmp_path / "ray" / relative) == expected, relative
        assert [row["round"] for row in expected] == [0, 1, 2]
        losses += [row["train"]["train_loss"] for row in expected[1:]]
        accuracies += [row["val_accuracy"] for row in expected]
    assert all(loss > 0 for loss in losses) and all(acc > 0 for acc in accuracies)  # a student that learns


def test_ray_retries_an_episode_whose_worker_was_killed_and_the_retry_resumes_it(cluster, tmp_path):
    # The plumbing student (no build), 3 rounds of a few hundred steps: slow enough to kill mid-episode.
    cheap = {"env.max_rounds": 3, "student.train": {"max_steps": 60, "batch_size": 8}}
    suite = write_suite(tmp_path, "retry", ray_settings={"address": "auto", "retries": 1}, overrides=cheap,
                        seeds=(0,))
    victim = tmp_path / "runs" / "SkillList-v0" / "uniform" / "seed-0"
    killer = Killer(victim)
    killer.start()
    results = run(suite)
    killer.join(timeout=5)
    assert killer.killed is not None, "the episode finished before its worker could be killed"
    assert all(r.outcome == "done" for r in results.values()), {n: r.error for n, r in results.items()}
    assert attempts(victim) == 2  # the killed attempt and Ray's retry
    assert json.loads((victim / "summary.json").read_text())["resumed_from"] == 1
    assert [row["round"] for row in rows(victim)] == [0, 1, 2, 3]  # each round once
