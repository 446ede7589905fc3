"""The fixed cost of a short run: a 1-round, 1-step ``teachenv run`` against its floor, in paired repeats.

Every process here is fresh and timed from start to exit; its CPU seconds (user + system of the child, from the
kernel) are reported next to its wall seconds, since other processes' load moves CPU seconds much less. Each
repeat runs, in this order:

- the floor (torch, transformers' Llama, TRL, PEFT imported; ``bench_round.FLOOR``) exiting as Python does by
  default, and exiting as the CLI does (the objects left at exit frozen, so Python's final collections skip them);
- ``import teachenv`` and ``teachenv --help``;
- with ``--baseline DIR``: the same 1-round run from another checkout's source (DIR holds its ``teachenv/``,
  ``tasks/`` and ``agents/``, e.g. ``git worktree add DIR <commit>``; everything installed is shared), then
- the floor with TRL's ``SFTTrainer`` (datasets, pandas, pyarrow: what any TRL round imports) and, right after
  it, the 1-round, 1-step ``teachenv run`` (``bench_round``'s recipe, a fresh ``TEACHENV_HOME`` each).

The claim is about the run minus the floor with ``SFTTrainer`` measured back to back in the same repeat: the
report gives its median and its spread (min-max) over the repeats (and the same for the baseline's run), so that
"within 0.5 s of the floor" is a statement about a distribution. ``--pair-only`` runs only the pair (and the
baseline), for more repeats in the same time.

    python benchmarks/bench_exit.py --repeats 5
    python benchmarks/bench_exit.py --repeats 7 --pair-only --baseline ../teachenv-before

``--gc`` also times Python's cyclic garbage collector in the pair's processes (and the baseline's): each runs with
a ``gc.callbacks`` hook that reports the CPU seconds its collections took (the run is then started as its console
script does, ``main()``), and the report adds the collector's seconds and the run minus the floor without them.
teachenv's student build and training let the collector skip the objects alive already (``teachenv.core.collector``)
while the floor process does not, so part of what the run saves is collector time the floor still pays: ``--gc``
shows how much.

The environment is reported with the numbers: where ``PYTHONDONTWRITEBYTECODE`` is set and teachenv is an
editable install, every process compiles teachenv's own modules from source (a normal install caches them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_concurrency import run_environment  # noqa: E402
from bench_round import FLOOR, FLOOR_DEFAULT_EXIT, FLOOR_WITH_SFT, FROZEN_EXIT, recipe, sizes, timed_child  # noqa: E402, F401

RUN = "1-round 1-step run"
BASELINE_RUN = "1-round 1-step run, baseline"
FLOOR_SFT = "floor with SFTTrainer, CLI's exit"

#: Imports teachenv (and its ``tasks`` / ``agents`` packages) from the checkout in ``argv[1]`` before anything else,
#: then runs the CLI as its console script does with the remaining arguments.
FROM_CHECKOUT = """import importlib.util, sys
root = sys.argv.pop(1)
folders = {"teachenv": "teachenv", "teachenv.tasks": "tasks", "teachenv.agents": "agents"}
class Checkout:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in folders:
            return None
        folder = f"{root}/{folders[name]}"
        return importlib.util.spec_from_file_location(name, f"{folder}/__init__.py",
                                                      submodule_search_locations=[folder])
sys.meta_path.insert(0, Checkout)
from teachenv.cli.main import main
main()"""


#: Prepended with ``--gc``: reports, as the last exit handler, the CPU seconds the collector's collections took.
GC_HOOK = """import atexit as _atexit, gc as _gc, os as _os, time as _time
_gc_cpu = [0.0, 0.0]
def _gc_timer(phase, info):
    if phase == "start":
        _gc_cpu[1] = _time.process_time()
    else:
        _gc_cpu[0] += _time.process_time() - _gc_cpu[1]
_gc.callbacks.append(_gc_timer)
_atexit.register(lambda: _os.write(2, f"\\nGC_CPU_SECONDS {_gc_cpu[0]:.6f}\\n".encode()))
"""
CLI_MAIN = "import sys; from teachenv.cli.main import main; sys.argv = ['teachenv'] + {!r}; main()"


def gc_seconds(stderr: str) -> float | None:
    """The collector's CPU seconds a ``GC_HOOK`` process reported (None if it reported none)."""
    lines = [line for line in stderr.splitlines() if line.startswith("GC_CPU_SECONDS ")]
    return float(lines[-1].split()[1]) if lines else None


def commands(config: Path, *, baseline: Path | None = None, pair_only: bool = False,
             gc: bool = False) -> dict[str, list[str]]:
    """Label → argv of one repeat, in the order they run (the floor with SFTTrainer right before the run)."""
    run = ["run", str(config), "--name", "one-step", "--overwrite"]
    hook = GC_HOOK if gc else ""
    argv: dict[str, list[str]] = {}
    if not pair_only:
        argv.update({
            "floor, default exit": [sys.executable, "-c", FLOOR_DEFAULT_EXIT],
            "floor, CLI's exit": [sys.executable, "-c", FLOOR],
            "import teachenv": [sys.executable, "-c", "import teachenv"],
            "teachenv --help": [sys.executable, "-m", "teachenv.cli.main", "--help"],
        })
    if baseline is not None:
        argv[BASELINE_RUN] = [sys.executable, "-c", hook + FROM_CHECKOUT, str(baseline.resolve()), *run]
    argv[FLOOR_SFT] = [sys.executable, "-c", hook + FLOOR_WITH_SFT]
    argv[RUN] = ([sys.executable, "-c", hook + CLI_MAIN.format(run)] if gc
                 else [sys.executable, "-m", "teachenv.cli.main", *run])
    return argv


def spread(values: list[float]) -> dict[str, float | list[float]]:
    """Median, min and max of ``values`` (and the values, in repeat order)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def paired_differences(cpu_runs: dict[str, list[float]], label: str, floor: str) -> dict[str, float | list[float]]:
    """``label`` minus ``floor`` within each repeat (their i-th runs), as ``spread``."""
    if len(cpu_runs[label]) != len(cpu_runs[floor]):
        raise ValueError(f"{label!r} has {len(cpu_runs[label])} runs and {floor!r} {len(cpu_runs[floor])}: "
                         "pair only processes measured in the same repeats.")
    return spread([run - base for run, base in zip(cpu_runs[label], cpu_runs[floor], strict=True)])


def measure(folder: Path, repeats: int, baseline: Path | None, pair_only: bool,
            gc: bool = False) -> dict[str, tuple[list, list, list]]:
    """Label → (wall seconds, CPU seconds, collector CPU seconds with ``gc``) of each repeat."""
    config = folder / "one-step.yaml"
    config.write_text(yaml.safe_dump(recipe({**sizes("quick"), "examples": 16, "eval_per_skill": 2}, 1, steps=1)))
    argv = commands(config, baseline=baseline, pair_only=pair_only, gc=gc)
    seconds: dict[str, tuple[list[float], list[float], list[float]]] = {label: ([], [], []) for label in argv}
    for _ in range(repeats):  # alternating, so that other work's load falls on every process alike
        for label, command in argv.items():
            wall, cpu, done = timed_child(command, env=run_environment(folder), cwd=folder)
            seconds[label][0].append(wall)
            seconds[label][1].append(cpu)
            if done.returncode != 0:
                sys.exit(f"{label} failed:\n{done.stderr}")
            collector = gc_seconds(done.stderr)
            if collector is not None:
                seconds[label][2].append(collector)
    return seconds


def report_of(seconds: dict[str, tuple[list, list, list]]) -> dict:
    processes = {label: {"cpu_s": spread(cpu), "wall_s": spread(wall)} for label, (wall, cpu, _) in seconds.items()}
    cpu_runs = {label: cpu for label, (_, cpu, _) in seconds.items()}
    runs = [label for label in (RUN, BASELINE_RUN) if label in cpu_runs]
    report = {"processes": processes,
              "above_floor_with_sft_cpu_s": {label: paired_differences(cpu_runs, label, FLOOR_SFT) for label in runs}}
    collector = {label: gc for label, (_, _, gc) in seconds.items() if gc}
    if collector:
        for label, gc in collector.items():
            processes[label]["collector_cpu_s"] = spread(gc)
        without = {label: [cpu - gc for cpu, gc in zip(cpu_runs[label], collector[label], strict=True)]
                   for label in collector}
        report["above_floor_with_sft_cpu_s_without_collector"] = {
            label: paired_differences(without, label, FLOOR_SFT) for label in runs}
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="paired repeats (fresh processes each)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of another teachenv commit whose run is measured in the same repeats")
    parser.add_argument("--pair-only", action="store_true",
                        help="only the floor with SFTTrainer and the run (and the baseline's run)")
    parser.add_argument("--gc", action="store_true",
                        help="also time the garbage collector in the pair's processes (and the baseline's)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats} is below 1: give at least 1 (5 or more for a median and spread)")
    if args.baseline is not None and not (args.baseline / "teachenv" / "cli" / "main.py").is_file():
        parser.error(f"--baseline {args.baseline} holds no teachenv/cli/main.py: give the root of a teachenv "
                     "checkout, e.g. one made with `git worktree add DIR <commit>`")
    with tempfile.TemporaryDirectory(prefix="teachenv-bench-exit-") as tmp:
        load_before = os.getloadavg()[0]
        seconds = measure(Path(tmp), args.repeats, args.baseline, args.pair_only, args.gc)
        report = {"cores": len(os.sched_getaffinity(0)), "load_before": load_before,
                  "load_after": os.getloadavg()[0], "repeats": args.repeats,
                  "PYTHONDONTWRITEBYTECODE": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
                  "baseline": str(args.baseline) if args.baseline else None, **report_of(seconds)}
    print(json.dumps(report, indent=2))
    print(f"\n{report['cores']} cores; load average {report['load_before']:.1f} before, {report['load_after']:.1f} "
          f"after; {args.repeats} alternating repeats of fresh processes; PYTHONDONTWRITEBYTECODE "
          f"{'set' if report['PYTHONDONTWRITEBYTECODE'] else 'unset'}\n")
    print("| process | CPU (s), median (min-max) | wall (s), median (min-max) |\n| --- | --- | --- |")
    for label, row in report["processes"].items():
        cpu, wall = row["cpu_s"], row["wall_s"]
        collector = row.get("collector_cpu_s")
        print(f"| {label} | {cpu['median']:.2f} ({cpu['min']:.2f}-{cpu['max']:.2f}) | "
              f"{wall['median']:.2f} ({wall['min']:.2f}-{wall['max']:.2f}) |"
              + (f" of which the collector {collector['median']:.2f} ({collector['min']:.2f}-{collector['max']:.2f})"
                 if collector else ""))
    for key, what in (("above_floor_with_sft_cpu_s", ""),
                      ("above_floor_with_sft_cpu_s_without_collector", ", the collector's seconds left out")):
        for label, above in report.get(key, {}).items():
            print(f"\n{label} minus the floor with SFTTrainer, paired within each repeat (CPU s{what}): median "
                  f"{above['median']:.2f}, spread {above['min']:.2f} to {above['max']:.2f} "
                  f"({', '.join(f'{x:.2f}' for x in above['runs'])})")
    return report


if __name__ == "__main__":
    main()
