"""Study: does DPO on the tiny teacher's own verified vs rejected drafts raise its verified-accept rate?

For each loss mix (plain sigmoid DPO, sigmoid + SFT on the chosen side): the base teacher drafts
``--drafts`` examples per skill; the world verifies them; each verified draft is paired with a rejected
draft of the same skill (chosen / rejected); ``align_teacher`` trains the LoRA; the aligned teacher drafts
again with fresh seeds; the accept rate and the mean log-prob of the chosen side are printed before and
after. Run: ``python scripts/tiny_teacher_dpo.py --drafts 40 --steps 30``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from teachenv.core.config import TaskSpec
from teachenv.scripted.backend import world
from teachenv.scripted.teacher_dpo import PreferencePair, TeacherDPOConfig, align_teacher, completion_logprobs
from teachenv.scripted.tiny_teacher import teacher_completion, teacher_prompt
from teachenv.scripted.tiny_teacher_backend import TinyTeacherBackend


def drafts(backend, task, count: int, seed: int) -> dict[str, list[tuple[str, str, bool]]]:
    """(question, answer, verified) per skill."""
    out = {}
    for k, skill in enumerate(task.skills):
        request = f"Skill: {skill}\nNumber of examples: {count}"
        from teachenv.engines.base import GenerationRequest

        reply = backend.generate([GenerationRequest(prompt=request, temperature=1.0, seed=seed * 100 + k)])[0]
        rows = []
        for item in json.loads(reply.text)["examples"]:
            verdict = task.verify(task.candidate(skill, item["question"], item["answer"], "tiny-teacher"))
            rows.append((item["question"], item["answer"], verdict.accepted))
        out[skill] = rows
    return out


def accept_rate(rows: dict) -> float:
    flat = [ok for skill_rows in rows.values() for _, _, ok in skill_rows]
    return sum(flat) / len(flat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=40, help="Drafts per skill, before and after.")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--sft-weight", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    task = world(TaskSpec(name="arith"))
    for loss in ("sigmoid", "sigmoid+sft"):
        backend = TinyTeacherBackend.build_for(task)
        before = drafts(backend, task, args.drafts, seed=args.seed)
        pairs = []
        for skill, rows in before.items():
            good = [teacher_completion(q, a) for q, a, ok in rows if ok]
            bad = [teacher_completion(q, a) for q, a, ok in rows if not ok]
            pairs.extend(PreferencePair(prompt=teacher_prompt(skill), chosen=c, rejected=r)
                         for c, r in zip(good, bad))
        lp_before = completion_logprobs(backend, pairs)
        config = TeacherDPOConfig(loss=loss, steps=args.steps, learning_rate=args.lr, sft_weight=args.sft_weight)
        with tempfile.TemporaryDirectory() as scratch:
            align_teacher(backend, pairs, config, Path(scratch) / "adapter")
            lp_after = completion_logprobs(backend, pairs)
            after = drafts(backend, task, args.drafts, seed=args.seed + 1)
        base_again = drafts(TinyTeacherBackend.build_for(task), task, args.drafts, seed=args.seed + 1)
        print(json.dumps({
            "loss": loss, "pairs": len(pairs), "steps": args.steps,
            "accept_base_fresh_seeds": round(accept_rate(base_again), 3),
            "accept_aligned_fresh_seeds": round(accept_rate(after), 3),
            "accept_base_on_its_pair_drafts": round(accept_rate(before), 3),
            "per_skill_base": {s: round(np.mean([ok for *_, ok in r]), 2) for s, r in base_again.items()},
            "per_skill_aligned": {s: round(np.mean([ok for *_, ok in r]), 2) for s, r in after.items()},
            "chosen_logp": [round(float(np.mean([c for c, _ in lp])), 2) for lp in (lp_before, lp_after)],
            "margin": [round(float(np.mean([c - r for c, r in lp])), 2) for lp in (lp_before, lp_after)],
        }))


if __name__ == "__main__":
    main()
