"""The student's evaluation, batched vs one prompt at a time: throughput, speed-up, same answers.

Grades a task's validation split (``--task``: arith, or shapes with images; or its first ``--prompts``
examples) through ``grade_split`` and the student's backend (``TransformersBackend``, or
``TransformersVisionBackend`` for a task with images) on one student model in batches of ``--batch-size`` (left padded), and
again one prompt at a time (all of them, or ``--naive-prompts`` spread evenly over the split);
prints prompts per second of both ways and their ratio (target ≥ 5×), and exits non-zero if any
greedy completion differs between the two:

    python benchmarks/bench_eval.py                       # untrained plumbing student, ~15 s on 2 CPU cores
    python benchmarks/bench_eval.py --model tiny          # the pretrained tiny student (built if missing)
    python benchmarks/bench_eval.py --model tiny --device cuda --batch-size 512 --naive-prompts 100
    python benchmarks/bench_eval.py --task shapes --model tiny --batch-size 100   # the tiny vision student

``--model`` takes what ``student.model`` takes: ``plumbing``, ``tiny``, or a Hugging Face id / local path.
"""

from __future__ import annotations

import argparse
import sys
import time

from teachenv.core.config import StudentConfig
from teachenv.core.records import GradedPrediction
from teachenv.engines.base import TextBackend
from teachenv.engines.transformers_backend import TransformersBackend
from teachenv.engines.vision_backend import TransformersVisionBackend
from teachenv.student.grading import grade_split
from teachenv.student.lora_student import load_base
from teachenv.student.vision_student import load_vision_base
from teachenv.tasks.arith.task import ArithTask
from teachenv.tasks.base import Task
from teachenv.tasks.vqa.shapes import ShapesTask

TASKS = {"arith": ArithTask, "shapes": ShapesTask}


def timed_eval(backend: TextBackend, task: Task, examples: list) -> tuple[float, list[GradedPrediction]]:
    start = time.perf_counter()
    _, predictions = grade_split(backend, task, "val", examples, task.max_new_tokens)
    return time.perf_counter() - start, predictions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="arith", choices=sorted(TASKS))
    parser.add_argument("--model", default="plumbing", help="plumbing (default), tiny, or a HF id / local path")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--prompts", type=int, default=None, help="first N prompts of the val split (default: all)")
    parser.add_argument("--naive-prompts", type=int, default=None, help="answer only this many one at a time")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    task = TASKS[args.task]()
    config = StudentConfig(model=args.model, device=args.device)
    if task.modality == "image":
        model, processor = load_vision_base(config, task, progress=True)
        backend_cls, tokenizer = TransformersVisionBackend, processor
    else:
        model, tokenizer = load_base(config, task, progress=True)
        backend_cls = TransformersBackend
    examples = task.load("val")[: args.prompts]
    wanted = min(args.naive_prompts or len(examples), len(examples))
    sample = list(range(0, len(examples), len(examples) // wanted))[:wanted]  # every skill, not the first one's
    batched = backend_cls(model, tokenizer, batch_size=args.batch_size)
    naive = backend_cls(model, tokenizer, batch_size=1)
    timed_eval(batched, task, examples[:32])  # warm-up: the first calls pay one-off setup
    batched_s, batched_predictions = timed_eval(batched, task, examples)
    naive_s, naive_predictions = timed_eval(naive, task, [examples[i] for i in sample])

    differ = [(p.prompt, batched_predictions[i].completion, p.completion)
              for i, p in zip(sample, naive_predictions, strict=True) if batched_predictions[i].completion != p.completion]
    batched_rate, naive_rate = len(examples) / batched_s, len(sample) / naive_s
    accuracy = sum(p.correct for p in batched_predictions) / len(examples)
    print(f"student {args.model!r} on {args.device}, {args.task} val: {len(examples)} prompts, accuracy {accuracy:.3f}")
    print(f"batched (batch {args.batch_size}, left padded): {len(examples)} prompts in {batched_s:.3f} s = "
          f"{batched_rate:,.0f} prompts/s")
    print(f"one prompt at a time: {len(sample)} prompts in {naive_s:.3f} s = {naive_rate:,.0f} prompts/s")
    print(f"speed-up: {batched_rate / naive_rate:.1f}x (target >= 5x)")
    if differ:
        print(f"FAIL: {len(differ)} of {len(sample)} completions differ, e.g. {differ[:3]}", file=sys.stderr)
        return 1
    print(f"identical greedy completions: {len(sample)} of {len(sample)} answered both ways")
    return 0


if __name__ == "__main__":
    sys.exit(main())
