"""Sandbox grading: one sandbox run per answer vs many answers batched into one run.

Makes 1,000 small code answers (a function plus three asserts each; every fifth answer wrong),
then grades (a) a slice of them one sandbox per answer through `SandboxPool` (``--per-answer``
items, ``--workers`` at once; fewer than all by default, since each costs a namespace and an
interpreter start, and the per-item time extrapolates linearly) and (b) all of them with
`run_batch`, once in ONE sandbox run (``workers=1``) and once split into ``--workers`` chunks.
Prints seconds, milliseconds per answer and the speed ratio, measured in one run; checks that
every arm gives the same verdicts. Then the cost of grading where the answer's code never runs
(each item's tests in a judge process of their own, calling the answer through plain-data
messages): the per-item time of an item whose tests make no call, and the time of one call,
from an item whose test calls the answer ``--calls`` times. Needs OS isolation (root,
util-linux's unshare):

    python benchmarks/bench_sandbox.py                          # 1,000 answers, 200 per-answer
    python benchmarks/bench_sandbox.py --per-answer 1000 --workers 2
"""

from __future__ import annotations

import argparse
import time

from teachenv.sandbox import Job, SandboxConfig, SandboxPool, run_batch


def make_answers(count: int) -> list[Job]:
    jobs = []
    for k in range(count):
        offset = 1 if k % 5 == 0 else 0  # every fifth answer is wrong
        program = f"def shift_all(xs):\n    return [x + {k} + {offset} for x in xs]\n"
        tests = (
            "assert shift_all([]) == []",
            f"assert shift_all([1, 2]) == [{1 + k}, {2 + k}]",
            f"assert shift_all(list(range(5)))[-1] == {4 + k}",
        )
        jobs.append(Job(program=program, tests=tests))
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000, help="answers graded by the batched arms")
    parser.add_argument("--per-answer", type=int, default=200, help="answers graded one sandbox each")
    parser.add_argument("--workers", type=int, default=2, help="sandboxes at once (pool and chunked batch)")
    parser.add_argument("--calls", type=int, default=2000, help="calls to the answer in the per-call measurement")
    args = parser.parse_args()

    jobs = make_answers(args.items)
    pool_config = SandboxConfig(workers=args.workers)
    pool = SandboxPool(pool_config)  # probes isolation once, outside the timings
    pool.run(jobs[:2])  # warm the page cache for the interpreter

    started = time.perf_counter()
    single = pool.run(jobs[: args.per_answer])
    per_answer_s = time.perf_counter() - started

    started = time.perf_counter()
    one_run = run_batch(jobs, SandboxConfig(workers=1))
    one_run_s = time.perf_counter() - started

    started = time.perf_counter()
    chunked = run_batch(jobs, pool_config)
    chunked_s = time.perf_counter() - started

    assert [r.status for r in single] == [item.status for item in one_run.items[: args.per_answer]]
    assert [item.status for item in one_run.items] == [item.status for item in chunked.items]
    per_item = {"per-answer": per_answer_s / args.per_answer, "one run": one_run_s / args.items,
                "chunked": chunked_s / args.items}
    print(f"mode: {one_run.mode}; isolation complete: {one_run.isolation.complete}")
    print(f"per-answer sandboxes: {args.per_answer} answers in {per_answer_s:.2f} s ({args.workers} workers) "
          f"= {1000 * per_item['per-answer']:.1f} ms/answer, ~{1000 * per_item['per-answer'] * args.items / 1000:.1f} s "
          f"for {args.items}")
    print(f"batched, 1 sandbox run: {args.items} answers in {one_run_s:.2f} s ({one_run.runs} run) "
          f"= {1000 * per_item['one run']:.2f} ms/answer")
    print(f"batched, {args.workers} chunks: {args.items} answers in {chunked_s:.2f} s ({chunked.runs} runs) "
          f"= {1000 * per_item['chunked']:.2f} ms/answer")
    print(f"speed-up per answer: one run {per_item['per-answer'] / per_item['one run']:.0f}x, "
          f"chunked {per_item['per-answer'] / per_item['chunked']:.0f}x over one sandbox per answer")
    passed = sum(item.status == "passed" for item in one_run.items)
    print(f"verdicts: {passed} passed, {args.items - passed} failed (expected {args.items - (args.items + 4) // 5} passed)")
    judge_split(args.calls)


def judge_split(calls: int) -> None:
    """What deciding verdicts in a separate judge process costs: a fixed part per item, and a round
    trip per call of the answer (arguments and result as plain-data messages)."""
    config = SandboxConfig(workers=1, item_seconds=10)
    program = "def echo(x):\n    return x\n"
    no_call = run_batch([Job(program=program)] * 100, config)
    many = run_batch([Job(program=program, tests=(f"for k in range({calls}):\n    assert echo([k, 'x']) == [k, 'x']",))], config)
    one = run_batch([Job(program=program, tests=("assert echo([0, 'x']) == [0, 'x']",))], config)
    assert {item.status for item in (*no_call.items, *many.items, *one.items)} == {"passed"}
    fixed_ms = 1000 * sorted(item.duration_s for item in no_call.items)[50]
    per_call_ms = 1000 * (many.items[0].duration_s - one.items[0].duration_s) / (calls - 1)
    print(f"judge split: an item whose tests make no call takes {fixed_ms:.1f} ms (median of 100; its own PID / "
          f"mount / IPC namespaces, tmpfs, answer and judge processes); one call of the answer from the tests "
          f"{1000 * per_call_ms:.0f} us (from {calls} calls), so a HumanEval-sized test (~10 calls) adds "
          f"{10 * per_call_ms:.1f} ms")


if __name__ == "__main__":
    main()
