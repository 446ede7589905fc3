"""Batched, left-padded greedy generation vs one prompt at a time, on the tiny student.

Prints prompts per second and tokens per second of both ways and their ratio, measured in one run:

    python benchmarks/bench_generation.py                 # the real tiny student (built if missing)
    python benchmarks/bench_generation.py --plumbing      # the untrained plumbing model, no build
    python benchmarks/bench_generation.py --prompts 1000 --batch-size 256 --naive-prompts 200

The naive way is timed on ``--naive-prompts`` prompts (it is slow) and scaled per prompt.
"""

from __future__ import annotations

import argparse
import time

from teachenv.core.config import TinyStudentRecipe
from teachenv.engines.base import GenerationRequest
from teachenv.engines.transformers_backend import TransformersBackend
from teachenv.student.tiny_model import build_tiny_model, load_or_build_tiny
from teachenv.tasks.arith.task import ArithTask


def timed(backend: TransformersBackend, requests: list[GenerationRequest]) -> tuple[float, int]:
    start = time.perf_counter()
    results = backend.generate(requests)
    return time.perf_counter() - start, sum(r.completion_tokens for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--naive-prompts", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--plumbing", action="store_true", help="use an untrained plumbing model")
    args = parser.parse_args()

    task = ArithTask()
    if args.plumbing:
        model, tokenizer = build_tiny_model(TinyStudentRecipe(pretrain_steps=0))
    else:
        model, tokenizer = load_or_build_tiny(TinyStudentRecipe(), ArithTask(), progress=True)
    pool = [task.prompt(e) for e in task.load("val") + task.load("test")]
    prompts = [pool[i % len(pool)] for i in range(args.prompts)]  # the splits hold ~1,000 prompts
    requests = [GenerationRequest(prompt=p, max_new_tokens=task.max_new_tokens) for p in prompts]

    batched = TransformersBackend(model, tokenizer, batch_size=args.batch_size)
    naive = TransformersBackend(model, tokenizer, batch_size=1)
    timed(batched, requests[:32])  # warm-up (first calls pay one-off setup)
    batched_s, batched_tokens = timed(batched, requests)
    naive_requests = requests[: args.naive_prompts]
    naive_s, naive_tokens = timed(naive, naive_requests)

    batched_rate = len(requests) / batched_s
    naive_rate = len(naive_requests) / naive_s
    print(f"batched (batch {args.batch_size}, left padded): {len(requests)} prompts in {batched_s:.3f} s = "
          f"{batched_rate:,.0f} prompts/s, {batched_tokens / batched_s:,.0f} tokens/s")
    print(f"naive (one at a time): {len(naive_requests)} prompts in {naive_s:.3f} s = "
          f"{naive_rate:,.0f} prompts/s, {naive_tokens / naive_s:,.0f} tokens/s")
    print(f"speed-up: {batched_rate / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
