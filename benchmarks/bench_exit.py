"""What a process pays at exit, and a 1-round, 1-step ``teachenv run`` against its floor, before and after the CLI
froze what is left at exit.

Python's final collections at exit walk every object still alive; a process that imported torch and transformers
(and more so one that trained a round) spends a second or more of CPU on them. ``teachenv``'s CLI registers
``gc.freeze`` as its first exit handler, so those collections skip what is left (``teachenv/cli/main.py``). This
script runs fresh processes, alternating, and prints the median wall and CPU seconds (user + system of the child,
from the kernel: other processes' load moves them much less than wall seconds) of:

- the floor (torch, transformers' Llama, TRL, PEFT imported; ``bench_round.FLOOR``) exiting as Python does by
  default, and exiting as the CLI does; the floor with TRL's ``SFTTrainer`` (datasets, pandas, pyarrow) too;
- ``import teachenv``; ``teachenv --help`` and a 1-round, 1-step ``teachenv run`` (``bench_round``'s recipe, a
  fresh ``TEACHENV_HOME`` each), through the CLI as installed and through its typer app without the exit freeze
  (the before).

    python benchmarks/bench_exit.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_concurrency import run_environment  # noqa: E402
from bench_round import FLOOR, FLOOR_DEFAULT_EXIT, FLOOR_WITH_SFT, FROZEN_EXIT, recipe, sizes  # noqa: E402, F401


def commands(config: Path) -> dict[str, list[str]]:
    run = ["run", str(config), "--name", "one-step", "--overwrite"]
    # The CLI's typer app without ``main()``'s exit freeze: the CLI as it exited before.
    before = "import sys; from teachenv.cli.main import app; sys.argv = ['teachenv'] + {!r}; app()"
    return {
        "floor, default exit": [sys.executable, "-c", FLOOR_DEFAULT_EXIT],
        "floor, CLI's exit": [sys.executable, "-c", FLOOR],
        "floor with SFTTrainer, CLI's exit": [sys.executable, "-c", FLOOR_WITH_SFT],
        "import teachenv": [sys.executable, "-c", "import teachenv"],
        "teachenv --help, before": [sys.executable, "-c", before.format(["--help"])],
        "teachenv --help": [sys.executable, "-m", "teachenv.cli.main", "--help"],
        "1-round 1-step run, before": [sys.executable, "-c", before.format(run)],
        "1-round 1-step run": [sys.executable, "-m", "teachenv.cli.main", *run],
    }


def measure(folder: Path, repeats: int) -> dict[str, dict[str, float]]:
    config = folder / "one-step.yaml"
    config.write_text(yaml.safe_dump(recipe({**sizes("quick"), "examples": 16, "eval_per_skill": 2}, 1, steps=1)))
    seconds: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label in commands(config)}
    for _ in range(repeats):  # alternating, so that other work's load falls on every process alike
        for label, argv in commands(config).items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(argv, env=run_environment(folder), cwd=folder, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            seconds[label][0].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            seconds[label][1].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode != 0:
                sys.exit(f"{label} failed:\n{done.stderr}")
    return {label: {"wall_s": statistics.median(wall), "cpu_s": statistics.median(cpu), "cpu_runs_s": cpu}
            for label, (wall, cpu) in seconds.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per measurement")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="teachenv-bench-exit-") as tmp:
        report = {"cores": len(os.sched_getaffinity(0)), "load_before": os.getloadavg()[0],
                  "processes": measure(Path(tmp), args.repeats), "load_after": os.getloadavg()[0]}
    p = report["processes"]
    # Like with like: the run and the floor both exit as the CLI does.
    run_cpu = p["1-round 1-step run"]["cpu_s"]
    report["above_floor_with_sft_cpu_s"] = run_cpu - p["floor with SFTTrainer, CLI's exit"]["cpu_s"]
    report["above_floor_cpu_s"] = run_cpu - p["floor, CLI's exit"]["cpu_s"]
    print(json.dumps(report, indent=2))
    print(f"\n{report['cores']} cores; load average {report['load_before']:.1f} before, "
          f"{report['load_after']:.1f} after; "
          f"medians of {args.repeats} alternating fresh processes\n")
    print("| process | CPU (s) | wall (s) |\n| --- | --- | --- |")
    for label, row in p.items():
        print(f"| {label} | {row['cpu_s']:.2f} | {row['wall_s']:.2f} |")
    print(f"\nthe run above the floor, both exiting as the CLI does: {report['above_floor_cpu_s']:.2f} s of CPU "
          f"({report['above_floor_with_sft_cpu_s']:.2f} s above the floor with SFTTrainer)")
    return report


if __name__ == "__main__":
    main()
