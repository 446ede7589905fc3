"""GPU check: train the student for two rounds on CUDA and evaluate each round through transformers
and through vLLM (the round's LoRA adapter under a fresh LoRA id), and compare the two.

    python scripts/gpu_check.py                        # the tiny student (a small recipe), ~2-4 min on one H200
    python scripts/gpu_check.py --model Qwen/Qwen2.5-0.5B --dtype bfloat16   # any causal LM (cached locally,
                                                       #   or HF_HUB_OFFLINE=0 to download)
    python scripts/gpu_check.py --skip-vllm            # the transformers half only

Round 0 evaluates the base model and picks its weakest ``arith`` skill; rounds 1 and 2 each train
the LoRA adapter (continual mode) on fresh procedurally generated examples of that skill and
evaluate the validation split both ways. Printed per round: accuracy from each backend, how many
greedy completions differ, and seconds per evaluation (the vLLM engine's start is timed apart).
Before each training round the student's vLLM is put to sleep, as in a real episode.

Tolerance: the run fails (exit 1) if, in any round, more than ``--tolerance`` of the completions
differ (default 1% when both run in float32, 5% otherwise). Not 0, because the two
engines compute the same math with different kernels (vLLM's attention and Triton LoRA kernels vs
cuBLAS / SDPA, different reduction orders), so a near-tie between the two best next characters can
flip the greedy choice, and one flipped character changes the whole answer; in bfloat16 such ties
are far more common. vLLM is asked for float32 first (``--vllm-dtype`` follows ``--dtype``); if
it cannot start in float32 the check says so and falls back to bfloat16 with the looser tolerance.

Exit codes: 0 agreement within tolerance (or the transformers half ran), 1 too many differences,
2 no CUDA GPU. The tiny student is pretrained by ``tiny_model`` on the CPU (its loop is CPU-only)
and cached under TEACHENV_HOME; the student then trains and answers on the GPU.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
import time

import numpy as np

from teachenv.core.config import (
    EvalConfig,
    StudentConfig,
    TinyStudentRecipe,
    TrainConfig,
    VLLMStudentConfig,
)
from teachenv.core.records import GradedPrediction
from teachenv.student.lora_student import LoRAStudent, tiny_recipe
from teachenv.tasks.arith.task import ArithTask

#: Small enough to pretrain in well under a minute; head size 32, which vLLM's attention kernels take.
GPU_CHECK_RECIPE = TinyStudentRecipe(pretrain_steps=600, skill_weights={"sub": 0.05, "mul": 0.5})


def versions() -> str:
    found = []
    for name in ("torch", "transformers", "peft", "trl", "vllm"):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def vllm_available() -> bool:
    try:
        importlib.import_module("vllm")
    except ImportError:
        return False
    return True


def transformers_eval(student: LoRAStudent, task: ArithTask, batch_size: int) -> tuple[float, list[GradedPrediction]]:
    from teachenv.engines.transformers_backend import TransformersBackend
    from teachenv.student.grading import grade_split

    start = time.perf_counter()
    backend = TransformersBackend(student.model, student.tokenizer, batch_size=batch_size)
    _, predictions = grade_split(backend, task, "val", task.load("val"), task.max_new_tokens)
    return time.perf_counter() - start, predictions


def accuracy(predictions: list[GradedPrediction]) -> float:
    return sum(p.correct for p in predictions) / len(predictions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="tiny (default: a small recipe) or a HF id / local path")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--vllm-dtype", default=None, help="vLLM's dtype (default: --dtype)")
    parser.add_argument("--examples", type=int, default=2000, help="training examples per round")
    parser.add_argument("--steps", type=int, default=150, help="optimizer steps per round")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="largest share of differing completions (default 0.01 if both run in float32, else 0.05)")
    parser.add_argument("--skip-vllm", action="store_true", help="run the transformers half only")
    args = parser.parse_args()

    import torch

    print(f"versions: {versions()}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("FAIL: no CUDA GPU visible to torch; this check needs one.", file=sys.stderr)
        return 2
    if args.device.startswith("cuda"):
        print(f"GPU: {torch.cuda.get_device_name(args.device)}")
    use_vllm = not args.skip_vllm and vllm_available()
    if not args.skip_vllm and not use_vllm:
        print("vLLM is not installed (pip install 'teachenv[vllm]'): running the transformers half only.")

    task = ArithTask()
    config = StudentConfig(
        model=args.model, tiny=GPU_CHECK_RECIPE, device=args.device, dtype=args.dtype,
        train=TrainConfig(max_steps=args.steps, batch_size=32),
        eval=EvalConfig(batch_size=512, vllm=VLLMStudentConfig(gpu_memory_utilization=0.25, enforce_eager=True)),
    )
    start = time.perf_counter()
    student = LoRAStudent(config, task, progress=True)
    print(f"student {args.model!r} ready in {time.perf_counter() - start:.1f} s "
          f"({sum(p.numel() for p in student.base.parameters()):,} parameters, {args.dtype} on {args.device})")

    vllm_eval, vllm_dtype = None, args.vllm_dtype or args.dtype
    failed = False
    weak = None
    for round_ in range(3):
        if round_ > 0:
            if vllm_eval is not None:
                vllm_eval.sleep()
            examples = task.generate(weak, args.examples, np.random.default_rng(round_))
            start = time.perf_counter()
            metrics = student.train(examples, seed=round_)
            print(f"round {round_}: trained on {metrics.examples} {weak!r} examples, {metrics.steps} steps, "
                  f"loss {metrics.train_loss:.4f}, {time.perf_counter() - start:.1f} s")
        hf_s, hf = transformers_eval(student, task, config.eval.batch_size)
        if weak is None:
            by_skill = {s: accuracy([p for p in hf if p.skill == s]) for s in task.skills}
            weak = min(by_skill, key=by_skill.get)
            print(f"round 0: base accuracy by skill {by_skill}; teaching {weak!r}")
        line = f"round {round_}: transformers acc {accuracy(hf):.3f} ({hf_s:.2f} s)"
        if use_vllm:
            if vllm_eval is None:
                start = time.perf_counter()
                vllm_eval, vllm_dtype = start_vllm(config, task, vllm_dtype)
                print(f"vLLM engine ({vllm_dtype}) started in {time.perf_counter() - start:.1f} s")
            start = time.perf_counter()
            _, vl = vllm_eval.evaluate(student.adapter, round_, "val", task.load("val"), task.max_new_tokens)
            vllm_s = time.perf_counter() - start
            differ = sum(a.completion != b.completion for a, b in zip(hf, vl, strict=True))
            tolerance = args.tolerance if args.tolerance is not None else \
                (0.01 if vllm_dtype == args.dtype == "float32" else 0.05)
            ok = differ <= tolerance * len(hf)
            failed |= not ok
            served = vllm_eval.backend.adapter
            line += (f" | vLLM ({vllm_dtype}, LoRA id {served.int_id if served else '-'}) acc {accuracy(vl):.3f} "
                     f"({vllm_s:.2f} s) | {differ} of {len(hf)} "
                     f"completions differ (tolerance {tolerance:.0%}){'' if ok else '  <-- FAIL'}")
            if differ:
                line += "\n    e.g. " + "; ".join(f"{a.prompt} hf={a.completion!r} vllm={b.completion!r}"
                                                 for a, b in zip(hf, vl) if a.completion != b.completion)[:400]
        print(line)
    if vllm_eval is not None:
        vllm_eval.close()
    if failed:
        print("FAIL: transformers and vLLM disagree beyond the tolerance.", file=sys.stderr)
        return 1
    print("OK" if use_vllm else "OK (transformers half only)")
    return 0


def start_vllm(config: StudentConfig, task: ArithTask, dtype: str):
    """The student's vLLM evaluator in ``dtype``, built now; bfloat16 if vLLM cannot start in float32."""
    from teachenv.student.vllm_eval import StudentVLLMEval

    evaluator = StudentVLLMEval(config.model_copy(update={"dtype": dtype}), task, tiny_recipe(config))
    try:
        evaluator.evaluate(None, 0, "val", task.load("val")[:8], task.max_new_tokens)  # starts the engine
    except Exception as exc:  # noqa: BLE001 - a check script reports any start failure and tries bfloat16
        evaluator.close()
        if dtype != "float32":
            raise
        print(f"vLLM could not start in float32 ({type(exc).__name__}: {str(exc)[:300]}); retrying in bfloat16")
        return start_vllm(config, task, "bfloat16")
    return evaluator, dtype


if __name__ == "__main__":
    sys.exit(main())
