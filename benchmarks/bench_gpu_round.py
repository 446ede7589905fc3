"""One DataEnvGym-size MATH round on a real model's shape, on a GPU: LoRA training and batched evaluation.

The student is built from a shipped ``config.json`` of a real model (``benchmarks/model_shapes/``: Qwen2.5-0.5B
and Gemma-2-2B) with random weights — the time of a matrix product does not depend on the values in it —
so nothing is downloaded. One round is what DataEnvGym's MATH environment does each step:

- **training**: a LoRA adapter (rank ``--lora-r`` on every linear layer of the blocks) trained on
  ``--examples`` examples × ``--epochs`` epochs, each ``--train-tokens`` tokens long with the loss on the
  completion (its second half), batch ``--batch-size``, AdamW, bf16 weights; reported as seconds,
  tokens/s and MFU;
- **evaluation**: ``--eval-prompts`` prompts of ``--prompt-tokens`` tokens, each answered with exactly
  ``--new-tokens`` new tokens (``min_new_tokens`` = ``max_new_tokens``, so no prompt stops early and the
  work is fixed), transformers' batched greedy ``generate`` with the round's adapter in place, batch
  ``--eval-batch``.

It needs only torch, transformers and PEFT (the GPU machines here have nothing else), so training is a
plain torch loop, not TRL: it measures what the GPU can do with the round's work, not teachenv's
trainer settings. vLLM is not measured by this script.

MFU counts model FLOPs by the usual convention (PaLM, appendix B): 6 × the matmul parameters (blocks and
the output head) per trained token plus the attention scores, over the GPU's dense bf16 peak (taken from
the device name, or ``--peak-tflops``). A frozen base does no weight-gradient work, so the hardware does
about 4/6 of that: the JSON gives both.

    python benchmarks/bench_gpu_round.py                          # both shapes, on the GPU
    python benchmarks/bench_gpu_round.py --shape qwen2.5-0.5b --out round.json
    python benchmarks/bench_gpu_round.py --tiny                   # scaled-down shapes on CPU, seconds

Without a GPU (and without ``--tiny``) it says so and exits 0: there is nothing to measure.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

SHAPES_DIR = Path(__file__).resolve().parent / "model_shapes"
SHAPES = ("qwen2.5-0.5b", "gemma-2-2b")

#: Dense bf16 peak (no sparsity) by a substring of the device name, in FLOP/s (vendors' data sheets, SXM parts).
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 70e12}

#: ``--tiny``: each shape scaled down to seconds on CPU, its architecture (attention kind, norms, soft caps) kept.
TINY_SHAPE = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "vocab_size": 512, "head_dim": 16}
TINY_ROUND = {"examples": 24, "epochs": 1, "train_tokens": 32, "batch_size": 8, "eval_prompts": 12,
              "prompt_tokens": 16, "new_tokens": 4, "eval_batch": 6}


def load_shape(name: str, tiny: bool):
    """The transformers config of a shipped shape (``tiny``: scaled down by ``TINY_SHAPE``)."""
    from transformers import AutoConfig

    path = SHAPES_DIR / f"{name}.json"
    if not path.is_file():
        raise SystemExit(f"unknown shape {name!r}: expected one of {', '.join(SHAPES)} (files in {SHAPES_DIR})")
    fields = {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}
    if tiny:
        fields.update(TINY_SHAPE)
    return AutoConfig.for_model(**fields)


def build_student(config, device, dtype, lora_r: int):
    """A randomly initialised model of ``config`` (built on ``device`` directly) with a LoRA adapter."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    return get_peft_model(model, LoraConfig(r=lora_r, lora_alpha=2 * lora_r, lora_dropout=0.0,
                                            target_modules=targets, task_type="CAUSAL_LM"))


def matmul_params(config) -> int:
    """Parameters that take part in a matrix product per token: the blocks' linear layers and the output head."""
    d, layers = config.hidden_size, config.num_hidden_layers
    head_dim = getattr(config, "head_dim", None) or d // config.num_attention_heads
    q = config.num_attention_heads * head_dim
    kv = config.num_key_value_heads * head_dim
    attention = d * q + 2 * d * kv + q * d
    mlp = 3 * d * config.intermediate_size
    return layers * (attention + mlp) + d * config.vocab_size


def train_flops_per_token(config, seq_len: int) -> float:
    """Model FLOPs per trained token (PaLM convention): 6 N plus 6 L q s for the attention scores and values
    (causal: half of the s × s products)."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    q = config.num_attention_heads * head_dim
    return 6 * matmul_params(config) + 6 * config.num_hidden_layers * q * seq_len


def synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_training(model, config, args, device) -> dict:
    """LoRA training on random token sequences: every step timed, the first ``warmup`` ones apart."""
    import torch

    generator = torch.Generator().manual_seed(1)
    steps_per_epoch = math.ceil(args.examples / args.batch_size)
    steps = steps_per_epoch * args.epochs
    tokens = torch.randint(3, config.vocab_size, (args.examples, args.train_tokens), generator=generator)
    labels = tokens.clone()
    labels[:, : args.train_tokens // 2] = -100  # the loss on the completion only, as teachenv trains
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    times, losses, step_tokens = [], [], []
    for step in range(steps):
        first = step % steps_per_epoch * args.batch_size
        batch = tokens[first:first + args.batch_size].to(device)
        batch_labels = labels[first:first + args.batch_size].to(device)
        synchronize(device)
        started = time.perf_counter()
        loss = model(input_ids=batch, labels=batch_labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize(device)
        times.append(time.perf_counter() - started)
        losses.append(float(loss.detach()))
        step_tokens.append(batch.numel())
    warmup = min(args.warmup, steps - 1)
    return {"steps": steps, "tokens": sum(step_tokens), "seconds": sum(times),
            "first_steps_seconds": sum(times[:warmup]), "tokens_per_s": sum(step_tokens) / sum(times),
            "steady_tokens_per_s": sum(step_tokens[warmup:]) / sum(times[warmup:]),
            "loss_first": losses[0], "loss_last": losses[-1]}


def measure_evaluation(model, config, args, device) -> dict:
    """Batched greedy generation with the adapter in place: exactly ``new_tokens`` tokens per prompt."""
    import torch

    generator = torch.Generator().manual_seed(2)
    prompts = torch.randint(3, config.vocab_size, (args.eval_prompts, args.prompt_tokens), generator=generator)
    model.eval()
    synchronize(device)
    started = time.perf_counter()
    generated = 0
    with torch.inference_mode():
        for start in range(0, args.eval_prompts, args.eval_batch):
            batch = prompts[start:start + args.eval_batch].to(device)
            out = model.generate(input_ids=batch, attention_mask=torch.ones_like(batch), do_sample=False,
                                 max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, pad_token_id=0)
            generated += (out.shape[1] - batch.shape[1]) * batch.shape[0]
    synchronize(device)
    seconds = time.perf_counter() - started
    return {"prompts": args.eval_prompts, "new_tokens": generated, "seconds": seconds,
            "prompts_per_s": args.eval_prompts / seconds, "new_tokens_per_s": generated / seconds}


def peak_flops(device, override_tflops: float | None) -> tuple[float | None, str]:
    import torch

    if override_tflops:
        return override_tflops * 1e12, f"--peak-tflops {override_tflops}"
    if device.type != "cuda":
        return None, "cpu (no peak assumed)"
    name = torch.cuda.get_device_name(device)
    for key, value in PEAK_BF16.items():
        if key in name:
            return value, f"{name}: {value / 1e12:.0f} TFLOP/s dense bf16"
    return None, f"{name}: unknown peak (pass --peak-tflops)"


def run_shape(name: str, args, device, dtype) -> dict:
    import torch

    config = load_shape(name, args.tiny)
    started = time.perf_counter()
    model = build_student(config, device, dtype, args.lora_r)
    synchronize(device)
    build_seconds = time.perf_counter() - started
    total_params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    train = measure_training(model, config, args, device)
    evaluation = measure_evaluation(model, config, args, device)
    peak, peak_source = peak_flops(device, args.peak_tflops)
    flops = train_flops_per_token(config, args.train_tokens) * train["tokens"]
    achieved = flops / train["seconds"]
    result = {
        "shape": name, "tiny": args.tiny, "device": str(device), "dtype": str(dtype).removeprefix("torch."),
        "params": total_params, "lora_params": trainable, "build_seconds": build_seconds,
        "train": train, "eval": evaluation, "round_seconds": train["seconds"] + evaluation["seconds"],
        "model_tflops_per_s": achieved / 1e12, "peak": peak_source,
        "mfu": achieved / peak if peak else None, "hardware_mfu": achieved * 4 / 6 / peak if peak else None,
    }
    if device.type == "cuda":
        result["max_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        torch.cuda.reset_peak_memory_stats(device)
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def markdown(results: list[dict]) -> str:
    lines = ["| shape | params | train (s) | train tok/s | MFU | eval (s) | eval prompts/s | round (s) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
        lines.append(f"| {r['shape']}{' (tiny)' if r['tiny'] else ''} | {r['params'] / 1e6:.1f} M | "
                     f"{r['train']['seconds']:.1f} | {r['train']['tokens_per_s']:,.0f} | {mfu} | "
                     f"{r['eval']['seconds']:.1f} | {r['eval']['prompts_per_s']:.1f} | {r['round_seconds']:.1f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=(*SHAPES, "all"), default="all")
    parser.add_argument("--tiny", action="store_true", help="scaled-down shapes and round, on CPU (a smoke run)")
    parser.add_argument("--examples", type=int, default=750)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-tokens", type=int, default=384, help="tokens per training example")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--eval-prompts", type=int, default=1750)
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--eval-batch", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=3, help="first training steps reported apart")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak, if not known")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.tiny:
        for key, value in TINY_ROUND.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if args.tiny:
        device, dtype = torch.device("cpu"), torch.float32
    elif not torch.cuda.is_available():
        print("bench_gpu_round: no CUDA GPU here, nothing to measure (use --tiny for a CPU smoke run).")
        return 0
    else:
        device, dtype = torch.device("cuda"), torch.bfloat16
    results = []
    for name in SHAPES if args.shape == "all" else (args.shape,):
        print(f"bench_gpu_round: {name}{' (tiny)' if args.tiny else ''} on {device} ...", file=sys.stderr, flush=True)
        results.append(run_shape(name, args, device, dtype))
    settings = {k: getattr(args, k) for k in ("examples", "epochs", "train_tokens", "batch_size", "lora_r",
                                              "eval_prompts", "prompt_tokens", "new_tokens", "eval_batch")}
    report = {"settings": settings, "torch": torch.__version__, "results": results}
    print(json.dumps(report, indent=2))
    print(markdown(results))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
