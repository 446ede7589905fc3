"""Where a teacher-aligning loop's signal goes, from a finished run on the arith world with the tiny teacher (LbT
M2, aligned-teacher, montessori, arte: ``--loop``): per round, how often the chosen and the rejected side of its
preference pairs are verified correct (does the signal prefer correct drafts?), and the tiny teacher's
verified-accept rate with the base weights and with each round's adapter (did DPO move the teacher?).

    teachenv run configs/lbt-m2-arith.yaml --name lbt-m2
    python benchmarks/lbt_m2_teacher.py runs/lbt-m2 --per-skill 200
    teachenv run configs/montessori-arith.yaml --name montessori-arith
    python benchmarks/lbt_m2_teacher.py runs/montessori-arith --loop montessori --per-skill 200
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

#: The loop's (pairs file, adapter folder) in rounds/<k>/agent/.
ARTEFACTS = {"lbt": ("lbt-pairs.jsonl", "lbt-teacher-adapter"),
             "aligned-teacher": ("teacher-pairs.jsonl", "teacher-adapter"),
             "montessori": ("montessori-pairs.jsonl", "montessori-adapter"),
             "arte": ("arte-pairs.jsonl", "arte-adapter")}


def main() -> None:
    from teachenv.tasks.arith.task import ArithTask
    from teachenv.teacher.backend import TinyTeacherBackend, TinyTeacherConfig
    from teachenv.teacher.model import draft_verified, verified_accept_rate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the run directory")
    parser.add_argument("--per-skill", type=int, default=200, help="fresh drafts per skill for the accept rate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--loop", choices=sorted(ARTEFACTS), default="lbt", help="the engine that wrote the run")
    args = parser.parse_args()
    pairs_file, adapter_dir = ARTEFACTS[args.loop]
    task = ArithTask(ArithTask.Config())
    rounds = sorted((p for p in (args.run / "rounds").iterdir() if (p / "agent" / pairs_file).is_file()),
                    key=lambda p: int(p.name))
    for folder in rounds:
        pairs = [json.loads(line) for line in (folder / "agent" / pairs_file).read_text().splitlines()]
        skill = [p["prompt"][2:].split("|")[0].split()[0] for p in pairs]  # "W <skill> k=v|"
        for side in ("chosen", "rejected"):
            share = sum(draft_verified(task, s, p[side]) for s, p in zip(skill, pairs)) / max(len(pairs), 1)
            print(f"round {folder.name}\tpairs {len(pairs)}\t{side} verified\t{share:.3f}")
    backend = TinyTeacherBackend(TinyTeacherConfig(), task)
    adapters = [("base", None)] + [(f"adapter of round {f.name}", f / "agent" / adapter_dir) for f in rounds
                                   if (f / "agent" / adapter_dir).is_dir()]
    for name, path in adapters:
        backend.load_adapter(path)
        rates = verified_accept_rate(backend.model, backend.tokenizer, task, per_skill=args.per_skill, seed=args.seed)
        print(f"{name}\taccept rate\t{sum(rates.values()) / len(rates):.3f}\t"
              + " ".join(f"{s}={v:.3f}" for s, v in rates.items()), flush=True)


if __name__ == "__main__":
    main()
