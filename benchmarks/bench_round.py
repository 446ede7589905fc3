"""Where a round's time goes: one run that measures the whole round and prints JSON and a Markdown table.

Five measurements, each against its naive or bare counterpart within this one run:

1. **Anatomy**: a quickstart-like episode (``arith``, weakest-skill teacher, the tiny student's shape
   untrained: timing does not depend on weight values) through ``teachenv run``; seconds per phase from
   the run log's ``timings``, summed over the rounds, and "other" = process wall − phases.
2. **Fixed per-process cost** by cause, each in a fresh subprocess (median of ``--repeats``):
   ``python -c pass``, + ``import teachenv``, + torch and transformers, + the Llama model code,
   + TRL / PEFT / datasets; against ``teachenv --help``; and the *floor* (a process that imports only what a
   round needs: torch, transformers' Llama, TRL, PEFT) against a 1-round, 1-step ``teachenv run`` (the
   "above floor" seconds are what teachenv itself adds to a process: CLI, config, task, student build, run
   directory, evaluation of the tiny splits); and the floor with TRL's ``SFTTrainer`` imported (``import trl``
   is lazy: the trainer brings ``datasets``, pandas and pyarrow, which every TRL round imports). The floors exit
   as ``teachenv``'s CLI does (the objects left at exit frozen, so Python's final collections skip them), and
   the floor is also measured exiting as Python does by default, which shows what that saves. Every process
   is timed the same way, from start to exit, and its CPU seconds (user + system) are reported next to the
   wall seconds: on a machine shared with other work they move much less.
3. **Training**: ``LoRAStudent.train`` against a bare TRL ``SFTTrainer`` on the same rows, adapter and
   settings (same steps; the final loss of both is reported: it should match).
4. **Continual vs retrain** (epoch-faithful: ``student.train.epochs`` with ``max_steps: null``, so each
   retrain round trains the same epochs over all data so far): cumulative training seconds and steps
   at each of ``--rounds`` (default 5 and 10: one run of the largest, read at each).
5. **Two concurrent runs against one alone**, through ``bench_concurrency.py``'s helpers on the
   anatomy's recipe (one round, cold student build skipped: the untrained shape).

    python benchmarks/bench_round.py --quick        # about 3-5 minutes on 2 loaded CPU cores
    python benchmarks/bench_round.py                # the full sizes (quick-start round sizes)
    python benchmarks/bench_round.py --smoke --repeats 1   # the smallest sizes: checks the sections, not speed

Every report is checked for consistency (phases within the wall, causes summing to the cumulative import
time, cumulative costs growing with rounds, retrain training at least continual's steps); the script exits
non-zero naming what is inconsistent.

On a machine shared with other work, compare ratios within one run of this script, not seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import math
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
from bench_concurrency import run_environment  # noqa: E402  (reused: a `teachenv run`'s own home and settings)
from bench_concurrency import start as start_run  # noqa: E402  (reused: a `teachenv run` in its own home)
from bench_concurrency import wait_all  # noqa: E402

#: Fresh-process imports, each adding one cause to the one before.
IMPORTS = {
    "python": "pass",
    "+ import teachenv": "import teachenv",
    "+ torch, transformers": "import teachenv, torch, transformers",
    "+ Llama model code": "import teachenv, torch, transformers; "
                          "from transformers.models.llama import modeling_llama",
    "+ TRL, PEFT, datasets": "import teachenv, torch, transformers; "
                             "from transformers.models.llama import modeling_llama; import trl, peft, datasets",
}

#: How ``teachenv``'s CLI exits: the objects left at exit are frozen, so Python's final collections skip them.
FROZEN_EXIT = "import atexit, gc; atexit.register(gc.freeze)"
#: The floor as Python exits by default: only what a round needs, nothing of teachenv's.
FLOOR_DEFAULT_EXIT = "import torch, transformers, trl, peft; from transformers.models.llama import modeling_llama"
#: The floor, exiting as the CLI does (so that "above floor" compares like with like).
FLOOR = f"{FROZEN_EXIT}; {FLOOR_DEFAULT_EXIT}"
#: The floor with TRL's trainer itself: ``import trl`` is lazy, and ``SFTTrainer`` brings ``datasets`` (and with
#: it pandas and pyarrow), which any TRL round imports.
FLOOR_WITH_SFT = FLOOR + "; from trl import SFTTrainer"


def sizes(tier: str) -> dict:
    if tier == "smoke":
        return {"rounds": 1, "examples": 16, "steps": 1, "train_rows": 16, "train_steps": 2,
                "cmp_examples": 32, "epochs": 1.0, "eval_per_skill": 2}
    if tier == "quick":
        return {"rounds": 2, "examples": 400, "steps": 40, "train_rows": 320, "train_steps": 20,
                "cmp_examples": 96, "epochs": 1.0, "eval_per_skill": None}
    return {"rounds": 3, "examples": 2000, "steps": 600, "train_rows": 2000, "train_steps": 200,
            "cmp_examples": 400, "epochs": 3.0, "eval_per_skill": None}


def recipe(size: dict, rounds: int, steps: int | None = None) -> dict:
    task = {"name": "arith"}
    if size["eval_per_skill"]:
        task.update(val_per_skill=size["eval_per_skill"], test_per_skill=size["eval_per_skill"])
    return {"name": "bench-round", "seed": 0, "task": task,
            "student": {"model": "plumbing", "train": {"max_steps": steps or size["steps"]}},
            "agent": {"policy": {"name": "weakest-skill", "focus": 2, "replay_share": 0.5},
                      "engine": {"name": "procedural"}},
            "env": {"id": "teachenv/SkillList-v0", "max_rounds": rounds, "examples_per_round": size["examples"]}}


def anatomy(folder: Path, size: dict) -> dict:
    config = folder / "anatomy.yaml"
    config.write_text(yaml.safe_dump(recipe(size, size["rounds"])))
    [wall] = wait_all([start_run(folder, config, "anatomy", "PASSIVE")])
    [log] = folder.glob("**/anatomy/episode.jsonl")
    phases: dict[str, float] = {}
    for line in log.read_text().splitlines():
        for phase, seconds in json.loads(line).get("timings", {}).items():
            phases[phase] = phases.get(phase, 0.0) + seconds
    return {"wall_s": wall, "phases_s": phases, "other_s": wall - sum(phases.values())}


def timed_child(argv: list[str], *, env: dict | None, cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``argv`` to its exit: its wall seconds, its CPU seconds (user + system, from the kernel's accounting of
    the child) and the finished process (stderr captured, stdout discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, done


def fixed_cost(folder: Path, size: dict, repeats: int) -> dict:
    """Fresh processes, each timed the same way (from start to exit), with the CPU seconds they used (user + system,
    from the kernel's accounting of the child): other work's load moves wall seconds much more than CPU seconds."""
    cpu: dict[str, float] = {}

    def median_seconds(argv: list[str], label: str, env: dict | None = None) -> float:
        times, cpu_times = [], []
        for _ in range(repeats):
            wall, cpu_s, done = timed_child(argv, env=env() if callable(env) else env, cwd=folder)
            if done.returncode != 0:
                sys.exit(f"{label} failed ({' '.join(argv)}):\n{done.stderr}")
            times.append(wall)
            cpu_times.append(cpu_s)
        cpu[label] = statistics.median(cpu_times)
        return statistics.median(times)

    cumulative = {label: median_seconds([sys.executable, "-c", code], label) for label, code in IMPORTS.items()}
    labels = list(cumulative)
    by_cause = {label: cumulative[label] - (cumulative[labels[i - 1]] if i else 0.0) for i, label in enumerate(labels)}
    help_s = median_seconds([sys.executable, "-m", "teachenv.cli.main", "--help"], "help")
    floor_s = median_seconds([sys.executable, "-c", FLOOR], "floor")
    floor_default_exit_s = median_seconds([sys.executable, "-c", FLOOR_DEFAULT_EXIT], "floor_default_exit")
    floor_with_sft_s = median_seconds([sys.executable, "-c", FLOOR_WITH_SFT], "floor_with_sft")
    config = folder / "one-step.yaml"
    config.write_text(yaml.safe_dump(recipe({**size, "examples": 16, "eval_per_skill": 2}, 1, steps=1)))
    # Timed like the floor (not through bench_concurrency's polling, which adds up to 0.2 s), each in a fresh home.
    one_step_s = median_seconds([sys.executable, "-m", "teachenv.cli.main", "run", str(config), "--name", "one-step",
                                 "--overwrite"], "one_step_run", env=lambda: run_environment(folder))
    return {"cumulative_s": cumulative, "by_cause_s": by_cause, "teachenv_help_s": help_s, "floor_s": floor_s,
            "one_step_run_s": one_step_s, "above_floor_s": one_step_s - floor_s,
            "floor_default_exit_s": floor_default_exit_s,
            "floor_with_sft_trainer_s": floor_with_sft_s,
            "above_floor_with_sft_trainer_s": one_step_s - floor_with_sft_s,
            "cpu_s": cpu, "above_floor_cpu_s": cpu["one_step_run"] - cpu["floor"],
            "above_floor_with_sft_trainer_cpu_s": cpu["one_step_run"] - cpu["floor_with_sft"]}


def arith_task():
    """The arithmetic world with small evaluation splits (the benchmarks time training, not evaluation)."""
    from teachenv.tasks.arith.task import ArithConfig, ArithTask

    return ArithTask(ArithConfig(val_per_skill=4, test_per_skill=4))


def student(mode: str = "continual", model: str = "plumbing", **train: object):
    """A LoRA student on ``arith_task()``: the plumbing student, or (``model="tiny"``) the quick-start tiny
    student's shape untrained (timing does not depend on weights)."""
    from teachenv.core.config import StudentConfig, TinyStudentRecipe, TrainConfig
    from teachenv.student.lora_student import LoRAStudent

    task = arith_task()
    shape = {"tiny": TinyStudentRecipe(pretrain_steps=0)} if model == "tiny" else {}
    return LoRAStudent(StudentConfig(model=model, train=TrainConfig(mode=mode, **train), **shape), task), task


def rows(task, n: int, seed: int) -> list:
    import numpy as np

    rng = np.random.default_rng(seed)
    per_skill = math.ceil(n / len(task.skills))
    return [ex for skill in task.skills for ex in task.generate(skill, per_skill, rng)][:n]


def train_vs_trl(size: dict) -> dict:
    from peft import get_peft_model  # noqa: F401  (imported before timing, as in a running episode)
    from trl import SFTConfig, SFTTrainer

    from teachenv.student.lora_student import _SCHEDULERS

    ours, task = student(max_steps=size["train_steps"])
    data = rows(task, size["train_rows"], seed=0)
    ours.train(data[:32], seed=0)  # warm-up: the first train imports TRL / PEFT / datasets
    ours, _ = student(max_steps=size["train_steps"])
    started = time.perf_counter()
    metrics = ours.train(data, seed=0)
    ours_s = time.perf_counter() - started

    bare, _ = student(max_steps=size["train_steps"])
    train = bare.config.train
    model = bare._new_adapter(0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as output_dir:
        args = SFTConfig(output_dir=output_dir, max_steps=train.max_steps, per_device_train_batch_size=train.batch_size,
                         learning_rate=train.learning_rate, lr_scheduler_type=_SCHEDULERS[train.lr_scheduler],
                         warmup_steps=train.warmup_steps, weight_decay=train.weight_decay, bf16=False, fp16=False,
                         use_cpu=True, max_length=bare.base.config.max_position_embeddings, packing=False,
                         completion_only_loss=True, seed=0, data_seed=0, report_to="none", save_strategy="no",
                         logging_strategy="no", disable_tqdm=True, dataloader_num_workers=0,
                         dataloader_pin_memory=False)
        output = SFTTrainer(model=model, args=args, train_dataset=bare._train_dataset(data),
                            processing_class=bare.tokenizer).train()
    bare_s = time.perf_counter() - started
    return {"rows": len(data), "steps": metrics.steps, "teachenv_s": ours_s, "trl_s": bare_s,
            "ratio_trl_over_teachenv": bare_s / ours_s, "teachenv_loss": metrics.train_loss,
            "trl_loss": output.training_loss}


def continual_vs_retrain(size: dict, rounds: list[int]) -> dict:
    """Cumulative training seconds and steps of each mode after each of ``rounds`` (one run of the largest)."""
    cumulative: dict[str, list[tuple[float, int]]] = {}
    for mode in ("continual", "retrain"):
        learner, task = student(mode, max_steps=None, epochs=size["epochs"], batch_size=32)
        seconds, steps, after = 0.0, 0, []
        for r in range(max(rounds)):
            started = time.perf_counter()
            metrics = learner.train(rows(task, size["cmp_examples"], seed=r), seed=r)
            seconds += time.perf_counter() - started
            steps += metrics.steps
            after.append((seconds, steps))
        cumulative[mode] = after
    result = {"examples_per_round": size["cmp_examples"], "epochs": size["epochs"], "by_rounds": {}}
    for n in rounds:
        (c_s, c_steps), (r_s, r_steps) = cumulative["continual"][n - 1], cumulative["retrain"][n - 1]
        result["by_rounds"][str(n)] = {"continual": {"train_s": c_s, "steps": c_steps},
                                       "retrain": {"train_s": r_s, "steps": r_steps},
                                       "ratio_retrain_over_continual": r_s / c_s}
    return result


def concurrency(folder: Path, size: dict) -> dict:
    config = folder / "concurrency.yaml"
    config.write_text(yaml.safe_dump(recipe(size, 1)))
    [alone] = wait_all([start_run(folder, config, "alone", "PASSIVE")])
    pair = wait_all([start_run(folder, config, f"pair-{i}", "PASSIVE") for i in range(2)])
    return {"alone_s": alone, "pair_s": pair, "ratio_slower_over_alone": max(pair) / alone}


SECTIONS = ("anatomy", "fixed_cost", "training", "continual_vs_retrain", "concurrency")


def table(report: dict) -> str:
    a, f, t, c, p = (report[k] for k in SECTIONS)
    lines = ["| measurement | value |", "| --- | --- |"]
    phases = ", ".join(f"{k} {v:.1f} s ({v / a['wall_s']:.0%})" for k, v in a["phases_s"].items())
    lines.append(f"| anatomy ({report['sizes']['rounds']} rounds + reset, wall {a['wall_s']:.1f} s) | "
                 f"{phases}, other {a['other_s']:.1f} s ({a['other_s'] / a['wall_s']:.0%}) |")
    causes = ", ".join(f"{k} {v:.2f} s" for k, v in f["by_cause_s"].items())
    lines.append(f"| fixed cost per process (fresh subprocess, median) | {causes}; "
                 f"`teachenv --help` {f['teachenv_help_s']:.2f} s |")
    cpu = f.get("cpu_s")
    lines.append(f"| floor (torch, transformers' Llama, TRL, PEFT only) vs 1-round 1-step `teachenv run` | "
                 f"{f['floor_s']:.2f} s vs {f['one_step_run_s']:.2f} s (above floor {f['above_floor_s']:.2f} s)"
                 + (f"; CPU {cpu['floor']:.2f} s vs {cpu['one_step_run']:.2f} s (above {f['above_floor_cpu_s']:.2f} s)"
                    if cpu else "") + " |")
    if "floor_with_sft_trainer_s" in f:
        lines.append(f"| floor with TRL's `SFTTrainer` (+ datasets, pandas, pyarrow) vs the same run | "
                     f"{f['floor_with_sft_trainer_s']:.2f} s vs {f['one_step_run_s']:.2f} s "
                     f"(above {f['above_floor_with_sft_trainer_s']:.2f} s)"
                     + (f"; CPU {cpu['floor_with_sft']:.2f} s vs {cpu['one_step_run']:.2f} s "
                        f"(above {f['above_floor_with_sft_trainer_cpu_s']:.2f} s)" if cpu else "") + " |")
    if "floor_default_exit_s" in f:
        lines.append(f"| the floor exiting as Python does by default (its final collections walk every object) | "
                     f"{f['floor_default_exit_s']:.2f} s" + (f"; CPU {cpu['floor_default_exit']:.2f} s" if cpu else "")
                     + " |")
    if cpu:
        lines.append(f"| CPU seconds (user + system) of `import teachenv` and `teachenv --help` | "
                     f"{cpu['+ import teachenv']:.2f} s, {cpu['help']:.2f} s |")
    lines.append(f"| training: `LoRAStudent.train` vs bare TRL `SFTTrainer` ({t['rows']} rows, {t['steps']} steps) | "
                 f"{t['teachenv_s']:.1f} s vs {t['trl_s']:.1f} s (TRL ÷ ours {t['ratio_trl_over_teachenv']:.2f}); "
                 f"final loss {t['teachenv_loss']:.4f} vs {t['trl_loss']:.4f} |")
    for n, row in c["by_rounds"].items():
        lines.append(f"| continual vs epoch-faithful retrain, cumulative ({n} rounds of {c['examples_per_round']}, "
                     f"{c['epochs']:g} epochs each) | {row['continual']['train_s']:.1f} s / "
                     f"{row['continual']['steps']} steps vs {row['retrain']['train_s']:.1f} s / "
                     f"{row['retrain']['steps']} steps "
                     f"(retrain ÷ continual {row['ratio_retrain_over_continual']:.2f}) |")
    lines.append(f"| two runs at once vs one alone (1 round, `OMP_WAIT_POLICY=PASSIVE`) | alone {p['alone_s']:.1f} s; "
                 f"together {p['pair_s'][0]:.1f} s and {p['pair_s'][1]:.1f} s "
                 f"(slower ÷ alone {p['ratio_slower_over_alone']:.2f}) |")
    return "\n".join(lines)


def problems(report: dict) -> list[str]:
    """What is inconsistent in ``report`` (empty when every section holds together); no timing thresholds."""
    found = []
    a, f, t, c, p = (report.get(k) for k in SECTIONS)
    if None in (a, f, t, c, p):
        return [f"missing sections: {[k for k in SECTIONS if k not in report]}"]
    phases = sum(a["phases_s"].values())
    if phases > a["wall_s"] or not math.isclose(a["other_s"], a["wall_s"] - phases):
        found.append(f"anatomy: phases {a['phases_s']} do not fit in the wall {a['wall_s']} with other {a['other_s']}")
    if "train" not in a["phases_s"]:
        found.append(f"anatomy: no train phase among {list(a['phases_s'])}")
    if not math.isclose(sum(f["by_cause_s"].values()), list(f["cumulative_s"].values())[-1]):
        found.append("fixed cost: the causes do not sum to the cumulative import time")
    if not math.isclose(f["above_floor_s"], f["one_step_run_s"] - f["floor_s"]):
        found.append("fixed cost: above_floor_s is not one_step_run_s - floor_s")
    if min([f["floor_s"], f["one_step_run_s"], f["teachenv_help_s"], *f["cumulative_s"].values()]) <= 0:
        found.append("fixed cost: a non-positive time")
    if t["teachenv_s"] <= 0 or t["trl_s"] <= 0 or not math.isclose(t["teachenv_loss"], t["trl_loss"], rel_tol=1e-3):
        found.append(f"training: ours and bare TRL differ (loss {t['teachenv_loss']} vs {t['trl_loss']})")
    previous = None
    for n, row in sorted(c["by_rounds"].items(), key=lambda item: int(item[0])):
        if row["retrain"]["steps"] < row["continual"]["steps"]:
            found.append(f"retrain after {n} rounds trained fewer steps than continual")
        if previous and (row["continual"]["steps"] <= previous["continual"]["steps"]
                         or row["retrain"]["train_s"] <= previous["retrain"]["train_s"]):
            found.append(f"cumulative cost after {n} rounds does not grow")
        previous = row
    if len(p["pair_s"]) != 2 or min(p["alone_s"], *p["pair_s"]) <= 0:
        found.append(f"concurrency: {p}")
    return found

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tier = parser.add_mutually_exclusive_group()
    tier.add_argument("--quick", action="store_true", help="Small sizes: a few minutes on 2 CPU cores.")
    tier.add_argument("--smoke", action="store_true", help="The smallest sizes: checks every section, not speed.")
    parser.add_argument("--rounds", default="5,10",
                        help="Comma-separated round counts at which the continual vs retrain cumulative cost is read.")
    parser.add_argument("--repeats", type=int, default=3, help="Fresh processes per fixed-cost measurement.")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        rounds = sorted({int(n) for n in args.rounds.split(",")})
    except ValueError:
        parser.error(f"--rounds {args.rounds!r} is not a comma-separated list of round counts, e.g. --rounds 5,10")
    if rounds[0] < 1:
        parser.error(f"--rounds {args.rounds!r} holds a count below 1: every count must be at least 1")
    size = sizes("smoke" if args.smoke else "quick" if args.quick else "full")
    report = {"cores": len(os.sched_getaffinity(0)), "load_before": os.getloadavg()[0], "sizes": size}
    with tempfile.TemporaryDirectory(prefix="teachenv-bench-round-") as tmp:
        folder = Path(tmp)
        report["fixed_cost"] = fixed_cost(folder, size, args.repeats)
        report["anatomy"] = anatomy(folder, size)
        report["training"] = train_vs_trl(size)
        report["continual_vs_retrain"] = continual_vs_retrain(size, rounds)
        report["concurrency"] = concurrency(folder, size)
    report["load_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))
    print()
    print(f"{report['cores']} cores; load average {report['load_before']:.1f} before, {report['load_after']:.1f} after")
    print(table(report))
    found = problems(report)
    if found:
        sys.exit("inconsistent report:\n" + "\n".join(found))


if __name__ == "__main__":
    main()
