"""Does DPO move the tiny teacher? Its verified-accept rate on the arith world before and after aligning
it on pairs built from its own drafts (chosen: a draft the task's verifier accepts; rejected: one it
refuses, same skill), for each loss mix, from the same base teacher and the same pairs.

    python benchmarks/teacher_dpo.py                       # the default tiny teacher (built if missing)
    python benchmarks/teacher_dpo.py --drafts 64 --steps 30 --eval 100

Prints one line per loss mix: accept rate overall (on fresh samples, another seed) and the mean
log-probability of held-out correct examples (does the chosen side collapse?).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

from teachenv.tasks.arith.task import ArithTask
from teachenv.teacher.align import AlignConfig, align_teacher, sequence_logprobs
from teachenv.teacher.backend import TinyTeacherBackend, TinyTeacherConfig
from teachenv.teacher.model import TinyTeacherRecipe, draft_verified, writing_prompt

MIXES = {"sigmoid+sft": (("sigmoid", "sft"), (1.0, 1.0)), "sigmoid": (("sigmoid",), (1.0,))}


def drafts(backend: TinyTeacherBackend, task: ArithTask, skill: str, n: int, seed: int) -> list[tuple[str, bool]]:
    texts = [r.text.strip() for r in backend.sample([writing_prompt(skill)] * n, temperature=1.0, seed=seed)]
    return [(text, draft_verified(task, skill, text)) for text in texts]


def accept_rate(backend: TinyTeacherBackend, task: ArithTask, n: int, seed: int) -> float:
    return float(np.mean([ok for s in task.skills for _, ok in drafts(backend, task, s, n, seed)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drafts", type=int, default=64, help="Drafts per skill the pairs are built from.")
    parser.add_argument("--eval", type=int, default=100, help="Fresh samples per skill to measure the accept rate.")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0, help="Seeds the drafts (10*seed+1), the eval samples "
                        "(10*seed+2) and DPO (seed).")
    parser.add_argument("--recipe", default="{}", help="JSON overrides of the teacher recipe, e.g. '{\"pretrain_steps\": 1200}'.")
    args = parser.parse_args()

    task = ArithTask()
    backend = TinyTeacherBackend(TinyTeacherConfig(recipe=TinyTeacherRecipe(**json.loads(args.recipe))), task)
    pairs = []
    for skill in task.skills:
        made = drafts(backend, task, skill, args.drafts, seed=10 * args.seed + 1)
        good, bad = [t for t, ok in made if ok], [t for t, ok in made if not ok]
        pairs += [{"prompt": writing_prompt(skill), "chosen": g, "rejected": b} for g, b in zip(good, bad) if g != b]
    held = [(writing_prompt(s), item.example.prompt + item.example.answer)
            for s in task.skills for item in task.generate(s, 20, np.random.default_rng(7))]

    def chosen_lp() -> float:
        return float(np.mean(sequence_logprobs(backend, [p for p, _ in held], [c for _, c in held])))

    print(f"teacher {backend.base_path.name}: {len(pairs)} pairs from {args.drafts} drafts/skill; "
          f"eval {args.eval} samples/skill at T=1 (seed {10 * args.seed + 2})")
    print(f"base            accept {accept_rate(backend, task, args.eval, seed=10 * args.seed + 2):.3f}  held-out correct logp {chosen_lp():.2f}")
    for name, (losses, weights) in MIXES.items():
        backend.load_adapter(None)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            align_teacher(backend, pairs, AlignConfig(loss_type=losses, loss_weights=weights, steps=args.steps,
                                                      beta=args.beta, learning_rate=args.lr, batch_size=8,
                                                      seed=args.seed), tmp)
            seconds = time.perf_counter() - start
            print(f"{name:<15} accept {accept_rate(backend, task, args.eval, seed=10 * args.seed + 2):.3f}  held-out correct logp "
                  f"{chosen_lp():.2f}  ({args.steps} DPO steps, {seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
