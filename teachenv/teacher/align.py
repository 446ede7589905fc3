"""``align_teacher``: DPO of a teacher's LoRA adapter on preference pairs, with TRL's ``DPOTrainer`` — the tiny
teacher, or a local causal LM (``local-teacher``: trained on its device, in bf16 when loaded so).

Pairs are ``{"prompt", "chosen", "rejected"}`` in the form the teacher is prompted with; for the tiny teacher its
compact format (``teachenv.teacher.model``):
e.g. prompt ``W add|``, chosen a verified example, rejected one the verifier refused (or one a feedback
signal such as ``teachenv.student.feedback.local_influence`` ranked lower). The loss mix is TRL's
``loss_type`` / ``loss_weights`` (TRL 1.16 has no ``rpo_alpha``): the default is sigmoid DPO plus an SFT
term on the chosen side, because plain sigmoid DPO can push a tiny model's chosen log-probability down
along with the rejected one. Training continues the backend's current adapter (a new LoRA when it
samples the base teacher); the reference model is the base teacher (PEFT's adapter switched off).

The adapter is saved in ``out_dir`` (``adapter_config.json`` + ``adapter_model.safetensors``) and loaded
into the backend, which samples it from then on (its cache identity changes with it). DPO steps and
the pair tokens the steps read go to the ledger (``add_work``: ``teacher_dpo_steps``,
``teacher_dpo_tokens``). Deterministic for ``config.seed`` on CPU. An OpenAI-compatible endpoint has no
weights teachenv can reach: it can be scored and selected from, not aligned. ``sequence_logprobs``
measures a (prompt, completion)'s log-probability under the teacher, for the tests and studies.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger

log = logging.getLogger(__name__)
LossType = Literal["sigmoid", "sft", "ipo", "hinge", "robust"]


class AlignConfig(BaseModel):
    """Options of one DPO alignment of the teacher."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    loss_type: tuple[LossType, ...] = Field(("sigmoid", "sft"), description="TRL DPO losses, summed.")
    loss_weights: tuple[float, ...] = Field((1.0, 1.0), description="Weight of each loss in loss_type.")
    beta: float = Field(0.1, gt=0)
    steps: int = Field(20, ge=1)
    learning_rate: float = Field(5e-3, gt=0)
    batch_size: int = Field(8, ge=1)
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _weights_match(self) -> AlignConfig:
        if len(self.loss_weights) != len(self.loss_type):
            raise ValueError(f"loss_weights {list(self.loss_weights)} must give one weight per loss in loss_type "
                             f"{list(self.loss_type)}.")
        return self


def text_pair(backend: Any, request: Any, chosen: tuple[str, str], rejected: tuple[str, str]) -> dict[str, str] | None:
    """The DPO pair of two drafted (question, answer) examples written for the engine's one-example writing
    ``request``, in the form ``backend`` is prompted with (``preference_text``); None when either text is
    empty or the two are the same (nothing to prefer)."""
    prompt, chosen_text = backend.preference_text(request, *chosen)
    _, rejected_text = backend.preference_text(request, *rejected)
    if not chosen_text or not rejected_text or chosen_text == rejected_text:
        return None
    return {"prompt": prompt, "chosen": chosen_text, "rejected": rejected_text}


def align_teacher(backend: Any, pairs: Sequence[dict[str, str]], config: AlignConfig, out_dir: str | Path,
                  ledger: CostLedger | None = None, callbacks: Sequence[Any] = (), *, load: bool = True) -> Path:
    """DPO the backend's adapter on ``pairs``, save it in ``out_dir``, make the backend sample it (``load``; a
    caller that moves the folder afterwards, as a workspace memo does, loads it from its final place itself);
    the folder. Runs under torch RNG seeded by ``config.seed`` (a new adapter's initial weights included); the
    caller's RNG state is restored afterwards."""
    import torch

    with torch.random.fork_rng(devices=[]), tempfile.TemporaryDirectory(prefix="teachenv-dpo-") as scratch:
        torch.manual_seed(config.seed)
        return _align(backend, pairs, config, Path(out_dir), Path(scratch), ledger, callbacks, load)


def _align(backend: Any, pairs: Sequence[dict[str, str]], config: AlignConfig, out: Path, scratch: Path,
           ledger: CostLedger | None, callbacks: Sequence[Any], load: bool) -> Path:
    import torch
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback
    from trl import DPOConfig, DPOTrainer

    rows = [dict(prompt=p["prompt"], chosen=p["chosen"], rejected=p["rejected"]) for p in pairs]
    bad = [p for p in rows if not all(isinstance(v, str) and v for v in p.values()) or p["chosen"] == p["rejected"]]
    if not rows or bad:
        raise ConfigError(f"align_teacher needs pairs with a non-empty prompt, chosen and rejected that differ; "
                          f"got {len(rows)} pairs, bad ones: {bad[:3]}.")
    model = backend.trainable_model({"r": config.lora_r, "lora_alpha": config.lora_alpha, "lora_dropout": 0.0,
                                     "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]})
    max_length = getattr(model.config, "max_position_embeddings", None)
    dropped, truncated = context_overflow(backend.tokenizer, rows, max_length)
    if dropped == len(rows):
        raise ConfigError(f"align_teacher: every pair's prompt is longer than the teacher's context "
                          f"({max_length} tokens), so DPO would train on nothing; shorten the prompts (the engine's "
                          "few_shot / avoid options) or use a teacher with a longer context.")
    if dropped or truncated:
        # TRL drops a pair whose prompt fills the context and cuts the completions of one that overflows it.
        log.warning("align_teacher: of %d pairs, %d have a prompt longer than the teacher's context (%d tokens) and "
                    "are left out of DPO, %d more are cut to fit it.", len(rows), dropped, max_length, truncated)
        if ledger is not None:
            ledger.add_work("teacher_dpo_pairs_dropped", dropped)
            ledger.add_work("teacher_dpo_pairs_truncated", truncated)
    args = DPOConfig(
        output_dir=str(scratch), max_steps=config.steps, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, beta=config.beta, loss_type=list(config.loss_type),
        loss_weights=list(config.loss_weights), lr_scheduler_type="constant", warmup_steps=0,
        gradient_checkpointing=False, bf16=model.dtype == torch.bfloat16, fp16=False,
        use_cpu=model.device.type == "cpu", seed=config.seed, data_seed=config.seed,
        report_to="none", save_strategy="no", logging_strategy="no", disable_tqdm=True,
        dataloader_num_workers=0, dataloader_pin_memory=False,
        max_length=max_length,
    )
    trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=backend.tokenizer)
    trainer.remove_callback(PrinterCallback)
    for callback in callbacks:
        trainer.add_callback(callback)
    trainer.train()
    model.save_pretrained(out, selected_adapters=["default"])  # not the reference copy TRL may add
    if load:
        backend.load_adapter(out)
    if ledger is not None:
        per_pair = sum(len(r["prompt"]) * 2 + len(r["chosen"]) + len(r["rejected"]) + 3 for r in rows) / len(rows)
        ledger.add_work("teacher_dpo_steps", config.steps)
        ledger.add_work("teacher_dpo_tokens", round(per_pair * config.steps * min(config.batch_size, len(rows))))
    return out


def context_overflow(tokenizer: Any, rows: Sequence[dict[str, str]], max_length: int | None) -> tuple[int, int]:
    """(pairs whose prompt alone fills ``max_length`` tokens, pairs whose prompt and longer completion exceed it)."""
    if max_length is None:
        return 0, 0
    dropped = truncated = 0
    for row in rows:
        prompt = len(tokenizer(row["prompt"])["input_ids"])
        longest = max(len(tokenizer(row[k], add_special_tokens=False)["input_ids"]) for k in ("chosen", "rejected"))
        if prompt >= max_length:
            dropped += 1
        elif prompt + longest + 1 > max_length:  # + the end-of-sequence token
            truncated += 1
    return dropped, truncated


def sequence_logprobs(backend: Any, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
    """Log-probability of each completion (and its end-of-sequence token) after its prompt, under the
    teacher the backend samples now."""
    import torch

    tok = backend.tokenizer
    out = []
    model = backend.model.eval()
    with torch.inference_mode():
        for prompt, completion in zip(prompts, completions, strict=True):
            p = tok(prompt, add_special_tokens=True)["input_ids"]
            c = tok(completion, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            ids = torch.tensor([p + c])
            logits = model(input_ids=ids).logits[0, len(p) - 1:-1]
            out.append(float(torch.log_softmax(logits.float(), -1).gather(1, torch.tensor(c)[:, None]).sum()))
    return out
