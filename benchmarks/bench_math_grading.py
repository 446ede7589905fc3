"""Math grading, ``MathGrader`` (exact fast path + worker pool) vs math-verify on every pair.

Builds completions from the GSM8K test golds (``../shared/data/gsm8k/test.jsonl`` next to the
repository, or ``--data``; a synthetic set of random integers when the file is absent): per gold,
three right answers in different forms (prose with ``$1,234.00``, the last of several boxes, an
assignment ``n = 1{,}234`` that only math-verify reads) and one wrong one (gold + 1). Grades them
(a) with ``MathGrader`` (``--workers`` processes), timed cold (spawning the workers included) and
warm, and (b) the naive way: ``math_verify.verify(parse(gold), parse(completion))`` for every pair
in this process, timeouts disabled. Prints items, seconds, the speed ratio and misgraded counts:

    python benchmarks/bench_math_grading.py                 # all 1,319 golds: 5,276 completions
    python benchmarks/bench_math_grading.py --limit 200 --workers 4
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from decimal import Decimal
from pathlib import Path

from teachenv.tasks.math.extraction import gsm8k_gold, normalize_number
from teachenv.tasks.math.grading import MathGrader

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gsm8k" / "test.jsonl"


def load_golds(path: Path, limit: int | None) -> tuple[list[str], str]:
    if path.exists():
        golds = [gsm8k_gold(json.loads(line)["answer"]) for line in path.read_text().splitlines() if line.strip()]
        source = str(path)
    else:
        rng = random.Random(0)
        golds = [str(rng.choice([rng.randint(0, 100), rng.randint(100, 10**6)])) for _ in range(1319)]
        source = f"synthetic ({path} not found)"
    return [gold for gold in golds if gold is not None][:limit], source


def completions_for(gold: str) -> list[tuple[str, bool]]:
    """(completion, whether it is right) for one gold answer."""
    value = Decimal(normalize_number(gold))
    latex_grouped = format(value, ",").replace(",", "{,}")
    return [
        (f"3 boxes of 4 is 12; 12 - 2 = 10. So the answer is ${value:,}.00.", True),
        (rf"\boxed{{{value + 7}}} is too many, hence \boxed{{{value}}}", True),
        (f"Let n be the total. Then the final answer is $n = {latex_grouped}$.", True),
        (f"2 + 2 = 4, so the answer is {value + 1}.", False),
    ]


def naive_grade(golds: list[str], completions: list[str]) -> list[bool]:
    from math_verify import parse, verify

    return [
        verify(parse(gold, parsing_timeout=None), parse(completion, parsing_timeout=None), timeout_seconds=None)
        for gold, completion in zip(golds, completions)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="grade only the first N golds")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("math_verify").setLevel(logging.ERROR)  # "timeouts are disabled": on purpose

    gold_answers, source = load_golds(args.data, args.limit)
    cases = [(gold, completion, right) for gold in gold_answers for completion, right in completions_for(gold)]
    golds = [gold for gold, _, _ in cases]
    completions = [completion for _, completion, _ in cases]
    expected = [right for _, _, right in cases]
    print(f"{len(cases)} completions from {len(gold_answers)} golds of {source}")

    with MathGrader(workers=args.workers) as grader:
        start = time.perf_counter()
        pooled = grader.grade(golds, completions)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        grader.grade(golds, completions)
        warm = time.perf_counter() - start

    naive_grade(golds[:1], completions[:1])  # import and warm math-verify outside the timing
    start = time.perf_counter()
    naive = naive_grade(golds, completions)
    naive_seconds = time.perf_counter() - start

    def misgraded(verdicts: list[bool]) -> int:
        return sum(verdict != right for verdict, right in zip(verdicts, expected))

    print(f"MathGrader ({args.workers} workers): {cold:7.2f} s cold (workers spawned), {warm:7.2f} s warm, "
          f"{len(cases) / warm:8.0f} items/s, misgraded {misgraded(pooled)}")
    print(f"naive math-verify (1 process): {naive_seconds:7.2f} s, {len(cases) / naive_seconds:8.0f} items/s, "
          f"misgraded {misgraded(naive)}")
    print(f"speed ratio naive / MathGrader: {naive_seconds / cold:.1f}x cold, {naive_seconds / warm:.1f}x warm")


if __name__ == "__main__":
    main()
