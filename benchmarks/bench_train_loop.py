"""Where ``LoRAStudent.train``'s time goes: TRL's ``trainer.train`` against a plain torch loop on the same batches.

The plain loop replays, on a fresh adapter with the same seed, the very batches the trainer fed its steps
(recorded as it ran), with the same optimiser (AdamW, fused when the trainer's was, the trainer's learning
rate, weight decay, schedule and gradient clipping at norm 1): the two runs do the same arithmetic, so their
per-step losses are equal (on CPU teachenv's trainer asks the model for its own loss, as the plain loop does;
TRL's own trainer computes the same log-probabilities in chunks, equal to float rounding, which training can
amplify over many steps), and the difference in wall time is the framework's per-step work.
Each side is split into forward + backward, the optimiser step, and the rest (data loading, callbacks,
metrics, accelerate's wrappers), measured in the same run; the repeats alternate the two sides so that
load from other work falls on both. The trainer's setup (dataset, tokenising, building the trainer: once
per round) is reported apart from its loop.

    python benchmarks/bench_train_loop.py                 # plumbing student, 3 repeats, about a minute
    python benchmarks/bench_train_loop.py --model tiny --steps 100 --rows 800

On a machine shared with other work, compare the ratios within one run, not seconds across runs; with
``--cpu-time`` every second is the process's CPU time (``time.process_time``) instead of wall time, which other
processes' load moves much less (the run is single-threaded under ``OMP_NUM_THREADS=1``; with more threads CPU
time adds theirs up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_round import arith_task, rows, student  # noqa: E402  (reused: the same student and rows)

#: The clock every measurement reads: wall time, or the process's CPU time with ``--cpu-time``.
now = time.perf_counter


class StepClock:
    """Seconds in ``training_step`` (forward + backward) and in the optimiser step, and each step's loss."""

    def __init__(self) -> None:
        self.forward_backward = self.optimizer = 0.0
        self.losses: list[float] = []
        self.batches: list[dict] = []
        self._opt_started = self._loop_started = 0.0
        self.loop = 0.0  # trainer.train's loop, from its train-begin event to its train-end event
        self.fused_adamw = False  # whether the trainer's AdamW ran fused (transformers' default with torch >= 2.8)

    def loop_begins(self, *_: object) -> None:
        self._loop_started = now()

    def loop_ends(self, *_: object) -> None:
        self.loop = now() - self._loop_started

    def before_optimizer(self, *_: object) -> None:
        self._opt_started = now()

    def after_optimizer(self, *_: object) -> None:
        self.optimizer += now() - self._opt_started


def timed_trainer(model_name: str, data: list, steps: int, seed: int, *,
                  stock: bool = False) -> tuple[float, StepClock]:
    """``LoRAStudent.train`` as an episode runs it, its steps timed and their batches recorded; with ``stock``,
    through TRL's own ``SFTTrainer`` instead of teachenv's ``LeanSFTTrainer`` (the before of that change)."""
    from transformers import TrainerCallback

    from teachenv.student import sft_trainer

    ours, _ = student(model=model_name, max_steps=steps)
    clock = StepClock()

    original = built = None

    def install(trainer) -> None:
        nonlocal original, built
        built, original = trainer, trainer.training_step

        def training_step(model, inputs, *args, **kwargs):
            clock.batches.append({k: v.clone() for k, v in inputs.items() if hasattr(v, "clone")})
            started = now()
            loss = original(model, inputs, *args, **kwargs)
            clock.forward_backward += now() - started
            clock.losses.append(float(loss))
            return loss

        trainer.training_step = training_step

    class Hook(TrainerCallback):  # the trainer's own events around its loop and its optimiser step
        def on_train_begin(self, args, state, control, **kwargs):
            clock.loop_begins()

        def on_train_end(self, args, state, control, **kwargs):
            clock.loop_ends()

        def on_pre_optimizer_step(self, args, state, control, **kwargs):
            clock.before_optimizer()

        def on_optimizer_step(self, args, state, control, **kwargs):
            clock.after_optimizer()

    import trl

    build = trl.SFTTrainer.__init__

    def patched_init(self, *args, **kwargs):
        build(self, *args, **kwargs)
        install(self)

    ours.trainer_callbacks = [Hook()]
    lean = sft_trainer.LeanSFTTrainer
    trl.SFTTrainer.__init__ = patched_init
    if stock:
        sft_trainer.LeanSFTTrainer = trl.SFTTrainer
    try:
        started = now()
        ours.train(data, seed=seed)
        wall = now() - started
    finally:
        trl.SFTTrainer.__init__ = build
        sft_trainer.LeanSFTTrainer = lean
    optimizer = getattr(built.optimizer, "optimizer", built.optimizer)  # accelerate wraps it
    clock.fused_adamw = bool(optimizer.defaults.get("fused"))
    return wall, clock


def timed_plain_loop(model_name: str, batches: list[dict], seed: int, *,
                     fused_adamw: bool = False) -> tuple[float, StepClock]:
    """The same batches through a fresh adapter (same seed) with a bare AdamW loop (fused as the trainer's was)
    and the same schedule."""
    import torch
    from transformers import get_scheduler

    from teachenv.student.lora_student import _SCHEDULERS

    ours, _ = student(model=model_name, max_steps=len(batches))
    train = ours.config.train
    model = ours._new_adapter(seed)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=train.learning_rate, weight_decay=train.weight_decay,
                                  fused=fused_adamw or None)
    scheduler = get_scheduler(_SCHEDULERS[train.lr_scheduler], optimizer, num_warmup_steps=train.warmup_steps,
                              num_training_steps=len(batches))
    clock = StepClock()
    started = now()
    for batch in batches:
        step_started = now()
        loss = model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"),
                     labels=batch["labels"]).loss
        loss.backward()
        clock.forward_backward += now() - step_started
        clock.losses.append(float(loss.detach()))
        clock.before_optimizer()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)  # the trainer's default max_grad_norm
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        clock.after_optimizer()
    clock.loop = now() - started
    return clock.loop, clock


def split(wall: float, clock: StepClock) -> dict:
    """Setup (dataset, tokenising, building the trainer: once per round) apart from the loop, and the loop's
    forward + backward, optimiser step and the rest (the framework's per-step work)."""
    return {"wall_s": wall, "setup_s": wall - clock.loop, "loop_s": clock.loop,
            "forward_backward_s": clock.forward_backward, "optimizer_s": clock.optimizer,
            "other_s": clock.loop - clock.forward_backward - clock.optimizer}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("plumbing", "tiny"), default="plumbing",
                        help="the untrained plumbing student, or the quick-start tiny student's shape (untrained)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rows", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpu-time", action="store_true",
                        help="measure the process's CPU seconds instead of wall seconds (steadier on a loaded machine)")
    args = parser.parse_args(argv)
    global now
    now = time.process_time if args.cpu_time else time.perf_counter

    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = rows(arith_task(), args.rows, seed=0)
    timed_trainer(args.model, data[:32], 2, seed=0)  # warm-up: the first train imports TRL / PEFT / datasets
    runs: dict[str, list[dict]] = {"trainer": [], "stock_trl": [], "plain_loop": []}
    max_loss_gap = early_loss_gap = stock_loss_gap = early_stock_loss_gap = 0.0
    for repeat in range(args.repeats):  # alternating, so that other work's load falls on every side
        wall, clock = timed_trainer(args.model, data, args.steps, seed=repeat)
        runs["trainer"].append(split(wall, clock))
        stock_wall, stock_clock = timed_trainer(args.model, data, args.steps, seed=repeat, stock=True)
        runs["stock_trl"].append(split(stock_wall, stock_clock))
        plain_wall, plain_clock = timed_plain_loop(args.model, clock.batches, seed=repeat,
                                                   fused_adamw=clock.fused_adamw)
        runs["plain_loop"].append(split(plain_wall, plain_clock))
        gaps = [abs(a - b) for a, b in zip(clock.losses, plain_clock.losses)]
        max_loss_gap, early_loss_gap = max(max_loss_gap, *gaps), max(early_loss_gap, *gaps[:10])
        stock_gaps = [abs(a - b) for a, b in zip(clock.losses, stock_clock.losses)]
        stock_loss_gap = max(stock_loss_gap, *stock_gaps)
        early_stock_loss_gap = max(early_stock_loss_gap, *stock_gaps[:10])

    def median(side: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[side])

    def ratios(side: str, key: str) -> list[float]:
        return [t[key] / p["loop_s"] for t, p in zip(runs[side], runs["plain_loop"])]

    keys = ("wall_s", "setup_s", "loop_s", "forward_backward_s", "optimizer_s", "other_s")
    report = {
        "model": args.model, "steps": args.steps, "rows": args.rows, "repeats": args.repeats,
        "clock": "cpu" if args.cpu_time else "wall",
        **{side: {k: median(side, k) for k in keys} for side in runs},
        "ratio_loop_over_plain": statistics.median(ratios("trainer", "loop_s")),
        "ratio_train_call_over_plain": statistics.median(ratios("trainer", "wall_s")),
        "loop_ratios": ratios("trainer", "loop_s"),
        "stock_trl_ratio_loop_over_plain": statistics.median(ratios("stock_trl", "loop_s")),
        "stock_trl_ratio_train_call_over_plain": statistics.median(ratios("stock_trl", "wall_s")),
        "stock_trl_loop_ratios": ratios("stock_trl", "loop_s"),
        # Rounding (the fused LM head sums in chunks) is exact-looking at first; over many steps a loss spike can
        # amplify it, so the first steps are reported apart.
        "max_per_step_loss_difference_first_10": early_loss_gap,
        "max_per_step_loss_difference": max_loss_gap,
        # teachenv's trainer against TRL's own on the same seed: the same loss, TRL's in chunks on CPU (rounding)
        "max_per_step_loss_difference_vs_stock_trl_first_10": early_stock_loss_gap,
        "max_per_step_loss_difference_vs_stock_trl": stock_loss_gap,
    }
    print(json.dumps(report, indent=2))
    print("| side | setup (s) | loop (s) | forward + backward (s) | optimiser (s) | other per-step work (s) |\n"
          "| --- | --- | --- | --- | --- | --- |")
    for side in runs:
        r = report[side]
        print(f"| {side} | {r['setup_s']:.2f} | {r['loop_s']:.2f} | {r['forward_backward_s']:.2f} | "
              f"{r['optimizer_s']:.2f} | {r['other_s']:.2f} |")
    print(f"trainer loop ÷ plain loop: {report['ratio_loop_over_plain']:.2f} (TRL's own SFTTrainer: "
          f"{report['stock_trl_ratio_loop_over_plain']:.2f}); whole LoRAStudent.train ÷ plain loop: "
          f"{report['ratio_train_call_over_plain']:.2f} "
          f"(TRL's own: {report['stock_trl_ratio_train_call_over_plain']:.2f})"
          f" ({report['clock']} seconds, medians of {args.repeats} alternating repeats); "
          f"largest per-step loss difference to the plain loop "
          f"{early_loss_gap:.2e} in the first 10 steps, {max_loss_gap:.2e} in all; to TRL's own trainer "
          f"{early_stock_loss_gap:.2e} in the first 10 steps, {stock_loss_gap:.2e} in all")
    return report


if __name__ == "__main__":
    main()
