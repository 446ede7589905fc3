"""STAT's labellers against the truth: a real student's wrong validation answers on arith, labelled by the
procedural labeller and by the LLM labeller (the scripted teacher, with ``--planted`` of its labels
deliberately wrong), each compared with the true subskill of the example's stored parameters (which neither
reads). Prints each agreement, the two profiles side by side with the true one, and exits non-zero if the
procedural labeller's agreement is below 0.9.

    python benchmarks/stat_agreement.py                     # the tiny student (built if missing), 100 val items a skill
    python benchmarks/stat_agreement.py --planted 0.1 --val-per-skill 40
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from teachenv.agents.stat_labeller import LLMLabeller, ProceduralLabeller, agreement, true_labels, wrong_answers
from teachenv.core.config import StudentConfig
from teachenv.core.ledger import CostLedger
from teachenv.engines.transformers_backend import TransformersBackend
from teachenv.scripted.backend import ScriptedBackend
from teachenv.student.grading import grade_split
from teachenv.student.lora_student import load_base
from teachenv.tasks.arith.task import ArithTask


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="student.model: tiny (default), plumbing, or a HF id / path")
    parser.add_argument("--val-per-skill", type=int, default=100)
    parser.add_argument("--planted", type=float, default=0.1, help="share of the scripted teacher's labels made wrong")
    args = parser.parse_args()

    task = ArithTask(ArithTask.Config(val_per_skill=args.val_per_skill))
    val = task.load("val")
    model, tokenizer = load_base(StudentConfig(model=args.model), ArithTask(), progress=True)
    _, predictions = grade_split(TransformersBackend(model, tokenizer, batch_size=256), task, "val", val,
                                 task.max_new_tokens)
    wrong = wrong_answers(predictions)
    truth = true_labels(task, val)
    procedural = ProceduralLabeller(task).label(wrong, 0)
    backend = ScriptedBackend(ScriptedBackend.Config(wrong_rate=args.planted, malformed_rate=0.05), task)
    try:
        llm = LLMLabeller(task, backend, CostLedger()).label(wrong, 0)
    finally:
        backend.close()
    p_agree, l_agree = agreement(procedural, truth), agreement(llm, truth)
    print(f"student {args.model!r}: {len(wrong)} wrong of {len(val)} validation answers")
    print(f"procedural labeller: agreement {p_agree:.3f}; slips {dict(Counter(x.slip for x in procedural).most_common())}")
    print(f"LLM labeller (scripted teacher, {args.planted:.0%} planted mistakes, 5% malformed replies): "
          f"agreement {l_agree:.3f}, unlabelled {sum(x.label is None for x in llm)}")
    true_profile = Counter(truth[w.example_id] for w in wrong)
    p_profile, l_profile = Counter(x.label for x in procedural), Counter(x.label for x in llm)
    print("subskill | true | procedural | llm")
    for name, count in sorted(true_profile.items(), key=lambda kv: -kv[1]):
        print(f"{name} | {count} | {p_profile.get(name, 0)} | {l_profile.get(name, 0)}")
    return 0 if p_agree is not None and p_agree >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
