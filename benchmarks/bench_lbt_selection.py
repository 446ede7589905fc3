"""LbT selection (``agents.lbt``) on the arith world: how often the drafts it selects are correct, against the
drafts it leaves, when the draft source plants wrong answers in half of them (``noisy`` over ``procedural``);
per signal (local influence at a few step sizes, in-context score), on a cached tiny student (``--model``: the
quick-start one, or ``tiny-context``, which reads its context) before any training (the scoring adapter is
fresh). Random selection would give the same share to both sides.

    python benchmarks/bench_lbt_selection.py                 # a few minutes on 2 loaded CPU cores
    python benchmarks/bench_lbt_selection.py --per-skill 30 --drafts 2 --seeds 0 1
    python benchmarks/bench_lbt_selection.py --settings influence:0.05 --extra-seeds 1   # + a second tiny student
    python benchmarks/bench_lbt_selection.py --model tiny-context --seeds 0 1            # the student that reads its context

``--extra-seeds`` adds scoring students (``agent.engine.students``): the ``--model`` student pretrained with
each given seed (built once, cached), whose scores are averaged with the first student's.
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    import gymnasium

    from teachenv.agents.noisy_engine import PLANTED
    from teachenv.core.config import apply_overrides
    from teachenv.core.records import DataGenerationAction, SkillRequest
    from teachenv.envs.build import as_run_config
    from teachenv.envs.defaults import PLUMBING_DEFAULTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-skill", type=int, default=30, help="selected examples per skill (add, sub, mul)")
    parser.add_argument("--drafts", type=int, default=2)
    parser.add_argument("--probe", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--settings", nargs="+", default=["influence:0.05", "influence:0.5", "in-context:0"])
    parser.add_argument("--extra-seeds", type=int, nargs="*", default=[], help="tiny students' seeds to score too")
    parser.add_argument("--model", choices=("tiny", "tiny-context"), default="tiny",
                        help="the scoring student: the quick-start tiny student or the one that reads its context")
    args = parser.parse_args()
    recipe_key = args.model.replace("-", "_")
    extra = [{"model": args.model, recipe_key: {"seed": s}} for s in args.extra_seeds]
    print("signal\tlr\tseed\tselected_correct\tunselected_correct\tdrafts\tstudents\tforward_passes")
    for setting in args.settings:
        signal, lr = setting.split(":")
        for seed in args.seeds:
            base = {**PLUMBING_DEFAULTS, "student": {"model": args.model}}
            overrides = ["agent.engine.name=lbt", f"agent.engine.signal={signal}", f"agent.engine.drafts={args.drafts}",
                         f"agent.engine.probe_per_skill={args.probe}", "agent.engine.inner.name=noisy",
                         "agent.engine.inner.wrong_share=0.5", f"agent.engine.students={json.dumps(extra)}"]
            if signal == "influence":
                overrides.append(f"agent.engine.influence_lr={lr}")
            env = gymnasium.make("teachenv/SkillList-v0", config=as_run_config(apply_overrides(base, overrides))).unwrapped
            env.reset(seed=seed)
            action = DataGenerationAction(requests=tuple(SkillRequest(skill=s, count=args.per_skill)
                                                         for s in ("add", "sub", "mul")))
            env.engine.generate(action, np.random.default_rng(seed + 1))
            rows = json.loads((env.workspace.folder() / "lbt-drafts.json").read_text())
            share = {side: float(np.mean([PLANTED not in r["origin"] for r in rows if r["selected"] == side]))
                     for side in (True, False)}
            passes = int(env.ledger.work.get("student_forward_passes", 0))
            print(f"{signal}\t{lr}\t{seed}\t{share[True]:.3f}\t{share[False]:.3f}\t{len(rows)}\t{1 + len(extra)}\t"
                  f"{passes}", flush=True)
            env.close()


if __name__ == "__main__":
    main()
