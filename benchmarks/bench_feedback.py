"""Student-feedback signals on the arith world: their cost per candidate (batched against naive, measured in
one run) and whether they carry information on a cached tiny student (issue 18, item 5): the quick-start one
(``--model tiny``, the default) or the one pretrained with exemplars in context (``--model tiny-context``).

Cost: ``in_context_scores`` batched (candidates × exam rows padded into chunks) against one candidate per call
with one exam row per forward; ``local_influence`` (save/restore of the LoRA parameters only) against a naive
loop that deep-copies and reloads the whole model state per candidate; ``learnability`` per question.
Signal: per skill, the in-context gold log-likelihood and greedy accuracy with a correct exemplar against the
same exemplar with a corrupted answer (and against no exemplar: the student's own greedy accuracy); the
influence of correct against corrupted candidates, and the rank correlation of a candidate's influence on the
probe set with its influence on a disjoint held-out set (one-step usefulness).

    python benchmarks/bench_feedback.py            # about a minute on 2 loaded CPU cores
    python benchmarks/bench_feedback.py --candidates 32 --exam 32
    python benchmarks/bench_feedback.py --model tiny-context   # the student that reads its context

Compare ratios within one run of this script, not seconds across runs.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np


def corrupt(example, shift: int = 7):
    return example.model_copy(update={"completion": str(int(example.completion) + shift)})


def spearman(a, b) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=16, help="candidates per skill")
    parser.add_argument("--exam", type=int, default=16, help="exam / probe items per skill")
    parser.add_argument("--k", type=int, default=4, help="samples per question for learnability")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", choices=("tiny", "tiny-context"), default="tiny",
                        help="which cached tiny student (built on first use with its default recipe)")
    args = parser.parse_args()

    import torch

    from teachenv.core.config import StudentConfig
    from teachenv.student.feedback import (_completion_logliks, _pair_ids, in_context_scores, learnability,
                                           local_influence)
    from teachenv.student.lora_student import LoRAStudent
    from teachenv.tasks.arith.task import ArithConfig, ArithTask

    task = ArithTask(ArithConfig(val_per_skill=8, test_per_skill=8))
    student = LoRAStudent(StudentConfig(model=args.model), task)
    rng = np.random.default_rng(args.seed)
    n, m = args.candidates, args.exam

    print(f"# student: {args.model}")
    print("## in-context signal (no adapter): correct vs corrupted exemplar; 'alone' = no exemplar")
    print("skill\talone_acc\tcorrect_ll\tcorrupt_ll\tcorrect_acc\tcorrupt_acc\tcorrect>corrupt")
    for skill in task.skills:
        exam, cands = task.generate(skill, m, rng), task.generate(skill, n, rng)
        r = in_context_scores(student, cands + [corrupt(c) for c in cands], exam)
        ll, acc = np.array(r.mean_loglik), np.array(r.accuracy)
        alone = np.mean(learnability(student, [e.example for e in exam], 1, temperature=1e-5))
        print(f"{skill}\t{alone:.2f}\t{ll[:n].mean():.3f}\t{ll[n:].mean():.3f}\t{acc[:n].mean():.3f}\t"
              f"{acc[n:].mean():.3f}\t{int((ll[:n] > ll[n:]).sum())}/{n}")

    print("\n## cost: in-context score, batched vs naive (one candidate per call, one row per forward)")
    exam, cands = task.generate("add", m, rng), task.generate("add", n, rng)
    start = time.perf_counter()
    batched = in_context_scores(student, cands, exam, batch_size=64)
    t_batched = time.perf_counter() - start
    start = time.perf_counter()
    naive = [in_context_scores(student, [c], exam, batch_size=1) for c in cands]
    t_naive = time.perf_counter() - start
    agree = np.allclose([r.mean_loglik[0] for r in naive], batched.mean_loglik, atol=1e-3)
    print(f"per candidate ({m} exam items): batched {1e3 * t_batched / n:.1f} ms, naive {1e3 * t_naive / n:.1f} ms, "
          f"naive/batched {t_naive / t_batched:.1f}x, same scores: {agree}")

    print("\n## influence (after a short LoRA round): correct vs corrupted, probe vs held-out")
    student.train(task.generate("add", 64, rng) + task.generate("sub", 64, rng), seed=args.seed)
    skills = ("add", "sub", "max")
    probe = [e for s in skills for e in task.generate(s, m // 2 or 1, rng)]
    held = [e for s in skills for e in task.generate(s, m // 2 or 1, rng)]
    cands = [e for s in skills for e in task.generate(s, max(n // 2, 2), rng)]
    groups = [[c] for c in cands] + [[corrupt(c)] for c in cands]
    start = time.perf_counter()
    on_probe = local_influence(student, groups, probe, learning_rate=1e-2)
    t_fast = time.perf_counter() - start
    on_held = local_influence(student, groups, held, learning_rate=1e-2)
    inf_p, inf_h = np.array(on_probe.influence), np.array(on_held.influence)
    k = len(cands)
    print(f"mean influence on probe: correct {inf_p[:k].mean():.2e}, corrupted {inf_p[k:].mean():.2e}; "
          f"correct>corrupted pairs {int((inf_p[:k] > inf_p[k:]).sum())}/{k}")
    print(f"spearman(probe influence, held-out influence) over {len(groups)} candidates: {spearman(inf_p, inf_h):.2f}; "
          f"over correct ones only: {spearman(inf_p[:k], inf_h[:k]):.2f}")

    # naive: deep-copy the whole model state and a fresh optimiser per candidate
    model = student.model
    params = [p for p in model.parameters() if p.requires_grad]
    probe_rows = [_pair_ids(student, task.prompt(e.example), e.completion) for e in probe]
    start = time.perf_counter()
    for group in groups:
        state = copy.deepcopy(model.state_dict())
        opt = torch.optim.SGD(params, lr=1e-2)
        rows = [_pair_ids(student, task.prompt(e.example), e.completion) for e in group]
        sums, _ = _completion_logliks(student, rows, 64, grad=True)
        opt.zero_grad()
        (-sums.sum()).backward()
        opt.step()
        _completion_logliks(student, probe_rows, 64)
        model.load_state_dict(state)
        opt.zero_grad(set_to_none=True)
    t_naive = time.perf_counter() - start
    print(f"per candidate ({len(probe)} probe items): LoRA-only restore {1e3 * t_fast / len(groups):.1f} ms, "
          f"full state deep-copy {1e3 * t_naive / len(groups):.1f} ms, ratio {t_naive / t_fast:.2f}x")

    print("\n## cost: learnability")
    questions = [e.example for e in task.generate("add", m, rng)]
    start = time.perf_counter()
    rates = learnability(student, questions, args.k)
    t = time.perf_counter() - start
    print(f"per question (k={args.k}): {1e3 * t / m:.1f} ms; mean pass rate on add {np.mean(rates):.2f}")


if __name__ == "__main__":
    main()
