"""Two `teachenv run`s at once against one alone: does each get about half the machine?

Each run is cold (its own empty ``TEACHENV_HOME``, so it pretrains a small tiny student, then runs one
round). For each OpenMP wait policy it times one run alone, then two started together, ``--repeats``
times, and prints the wall seconds and the ratio *(slower of the two together) / (alone)*: about 2 on
a machine whose cores the two share fairly, far more when idle threads spin on cores the other run
needs. ``default`` is libgomp's own policy (spin a while, then sleep: what torch did before the CLI
set ``PASSIVE``); ``PASSIVE`` is what ``teachenv`` sets unless ``OMP_WAIT_POLICY`` is set already.

    python benchmarks/bench_concurrency.py                 # about 6 minutes on 2 CPU cores
    python benchmarks/bench_concurrency.py --steps 400 --repeats 3

On a machine shared with other work, compare ratios within one run of this script, not seconds across runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

#: A small cold recipe: pretrain a tiny student for ``--steps`` steps, then one short LoRA round.
CONFIG = {
    "name": "concurrency",
    "task": {"name": "arith", "val_per_skill": 20, "test_per_skill": 20},
    "student": {"model": "tiny", "tiny": {"pretrain_steps": 200, "batch_size": 32, "warmup_steps": 10},
                "train": {"max_steps": 20}},
    "env": {"max_rounds": 1, "examples_per_round": 400},
}
#: OMP_WAIT_POLICY per label; "" leaves libgomp's default (the CLI keeps a value that is set, even empty).
POLICIES = {"default": "", "PASSIVE": "PASSIVE"}


def run_environment(folder: Path, policy: str = "PASSIVE") -> dict[str, str]:
    """A run's environment: a fresh ``TEACHENV_HOME`` under ``folder``, offline, ``OMP_WAIT_POLICY=policy``."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=folder))
    return {**os.environ, "TEACHENV_HOME": str(home), "OMP_WAIT_POLICY": policy,
            "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def start(folder: Path, config: Path, label: str, policy: str) -> subprocess.Popen:
    env = run_environment(folder, policy)
    return subprocess.Popen([sys.executable, "-m", "teachenv.cli.main", "run", str(config), "--name", label,
                             "--overwrite"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=folder)


def wait_all(processes: list[subprocess.Popen]) -> list[float]:
    """Wall seconds of each process from now (they were started just before)."""
    started = time.perf_counter()
    seconds = [0.0] * len(processes)
    pending = set(range(len(processes)))
    while pending:
        for i in list(pending):
            if processes[i].poll() is not None:
                seconds[i] = time.perf_counter() - started
                pending.discard(i)
                if processes[i].returncode != 0:
                    sys.exit(f"run failed:\n{processes[i].stderr.read()}")
        time.sleep(0.2)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="Pretraining steps of the cold tiny student.")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="teachenv-concurrency-") as tmp:
        folder = Path(tmp)
        config = folder / "config.yaml"
        recipe = {**CONFIG, "student": {**CONFIG["student"], "tiny": {**CONFIG["student"]["tiny"],
                                                                        "pretrain_steps": args.steps}}}
        config.write_text(yaml.safe_dump(recipe))
        print(f"cores: {len(os.sched_getaffinity(0))}; load average before: {os.getloadavg()[0]:.1f}")
        for repeat in range(args.repeats):
            for label, policy in POLICIES.items():
                [alone] = wait_all([start(folder, config, "alone", policy)])
                pair = wait_all([start(folder, config, f"pair-{i}", policy) for i in range(2)])
                print(f"repeat {repeat + 1}, OMP_WAIT_POLICY {label}: alone {alone:.1f} s; two at once "
                      f"{pair[0]:.1f} s and {pair[1]:.1f} s; ratio {max(pair) / alone:.2f}", flush=True)


if __name__ == "__main__":
    main()
