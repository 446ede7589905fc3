"""Does AgentInstruct's refinement stage make items harder for the student? The procedural suggester /
editor on the arith world, measured on a real student: its accuracy on the seed instructions and on their
accepted edits (the same pairs), and the paired difference with a 95% interval.

    python benchmarks/agentinstruct_refinement.py                  # the tiny student (built if missing)
    python benchmarks/agentinstruct_refinement.py --model plumbing --items 200

Prints one line per skill and the overall line; exits non-zero if the edits are not harder (accuracy on
edits not below the seeds').
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from teachenv.agents.agent_instruct import AgentInstructEngine
from teachenv.core.config import StudentConfig
from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, SkillRequest, TaskExample
from teachenv.engines.transformers_backend import TransformersBackend
from teachenv.student.grading import grade_split
from teachenv.student.lora_student import load_base
from teachenv.tasks.arith.task import ArithTask


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="student.model: tiny (default), plumbing, or a HF id / path")
    parser.add_argument("--items", type=int, default=1000, help="instructions asked for (all skills)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    task = ArithTask()
    engine = AgentInstructEngine(task, CostLedger())
    requests = tuple(SkillRequest(skill=s, count=args.items // len(task.skills)) for s in task.skills)
    engine.generate(DataGenerationAction(requests=requests), np.random.default_rng(args.seed))
    pairs = [p for p in engine.last_pairs if p["accepted"]]

    def example(question: str, skill: str, i: int) -> TaskExample:
        return TaskExample(id=f"probe/{i}", skill=skill, prompt=question, answer=task.solve(question))

    seeds = [example(p["seed"], p["skill"], i) for i, p in enumerate(pairs)]
    edits = [example(p["edited"], p["skill"], i) for i, p in enumerate(pairs)]
    model, tokenizer = load_base(StudentConfig(model=args.model), task, progress=True)
    backend = TransformersBackend(model, tokenizer, batch_size=256)
    _, on_seeds = grade_split(backend, task, "val", seeds, task.max_new_tokens)
    _, on_edits = grade_split(backend, task, "val", edits, task.max_new_tokens)
    before = np.array([p.correct for p in on_seeds], dtype=float)
    after = np.array([p.correct for p in on_edits], dtype=float)
    print(f"student {args.model!r}; {len(pairs)} accepted edits of {args.items} instructions; "
          f"refinement log {engine.last_log['refinement']}")
    for skill in task.skills:
        mask = np.array([p["skill"] == skill for p in pairs])
        if mask.any():
            print(f"{skill}: {mask.sum()} pairs, accuracy on seeds {before[mask].mean():.3f}, on edits {after[mask].mean():.3f}")
    diff = after - before
    half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    print(f"all: accuracy on seeds {before.mean():.3f}, on edits {after.mean():.3f}, "
          f"paired difference {diff.mean():+.3f} ± {half:.3f} (95%)")
    return 0 if after.mean() < before.mean() else 1


if __name__ == "__main__":
    sys.exit(main())
