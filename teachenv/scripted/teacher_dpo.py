"""``align_teacher``: DPO of the tiny teacher's LoRA adapter on preference pairs, with TRL's ``DPOTrainer``.

``align_teacher(backend, pairs, config, out_dir, ledger)`` trains a LoRA adapter on the teacher (starting
from the adapter the backend samples now, or a fresh one), saves it atomically in ``out_dir`` (an agent
passes its round's folder, so every adapter stays in the run directory), makes the backend sample it
from then on, counts the DPO steps and tokens in the ledger (``add_work``: ``teacher_dpo_steps``,
``teacher_dpo_tokens``) and returns ``out_dir``. A pair is ``(prompt, chosen, rejected)`` in the teacher's
compact form (``tiny_teacher.teacher_prompt`` / ``teacher_completion``). The reference model is the
teacher with its adapter disabled (TRL's default for a PEFT model), i.e. the base teacher.

The loss mix is a config choice: ``sigmoid`` (plain DPO) or ``sigmoid+sft`` (the default: DPO plus an SFT
term on the chosen side, weight ``sft_weight``) — in TRL 1.16 ``loss_type=["sigmoid", "sft"]`` with
``loss_weights=[1.0, sft_weight]``; plain sigmoid DPO has been seen to push a tiny model's chosen
log-prob down along with the rejected one. Only a teacher whose weights teachenv holds can be aligned:
an OpenAI-compatible endpoint can be scored and selected from, not aligned. It knows nothing about how
the pairs were chosen.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger

if TYPE_CHECKING:
    from teachenv.scripted.tiny_teacher_backend import TinyTeacherBackend


class PreferencePair(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    prompt: str = Field(min_length=1)
    chosen: str = Field(min_length=1)
    rejected: str = Field(min_length=1)


class TeacherDPOConfig(BaseModel):
    """How the teacher is aligned."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    loss: Literal["sigmoid", "sigmoid+sft"] = Field(
        "sigmoid+sft", description="'sigmoid' = plain DPO; 'sigmoid+sft' adds an SFT term on the chosen side.")
    sft_weight: float = Field(1.0, ge=0, description="Weight of the SFT term (with loss 'sigmoid+sft').")
    beta: float = Field(0.1, gt=0, description="DPO's beta: how far from the reference the teacher may move.")
    steps: int = Field(20, ge=1, description="DPO optimiser steps.")
    learning_rate: float = Field(5e-4, gt=0)
    batch_size: int = Field(8, ge=1)
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    seed: int = 0

    def trl_losses(self) -> tuple[list[str], list[float]]:
        """(loss_type, loss_weights) for TRL's ``DPOConfig``."""
        if self.loss == "sigmoid":
            return ["sigmoid"], [1.0]
        return ["sigmoid", "sft"], [1.0, self.sft_weight]


def align_teacher(backend: TinyTeacherBackend, pairs: Sequence[PreferencePair], config: TeacherDPOConfig,
                  out_dir: Path, ledger: CostLedger | None = None, *, callbacks: Sequence[Any] = ()) -> Path:
    """DPO on ``pairs``; the adapter saved in ``out_dir`` is what ``backend`` samples next. Returns ``out_dir``.

    ``callbacks`` are transformers ``TrainerCallback``s given to the DPO trainer (e.g. a crash point).
    Inside an episode, route it through the agent workspace so a resumed run gets the adapter back
    without retraining: ``path = workspace.memo_dir("teacher-adapter", lambda p: align_teacher(backend,
    pairs, config, p, ledger)); backend.load_adapter(path)`` (the memo builds under a temporary name).
    When ``out_dir`` already holds an adapter (a resumed round that saved it before the crash) it is loaded,
    not retrained, and the work is counted as if trained, so a resumed episode's ledger matches."""
    if not pairs:
        raise ConfigError("align_teacher got no preference pairs; build at least one (chosen, rejected) pair first.")
    tokens = sum(len(backend.tokenizer(p.prompt + p.chosen)["input_ids"])
                 + len(backend.tokenizer(p.prompt + p.rejected)["input_ids"]) for p in pairs)
    if not (out_dir / "adapter_config.json").is_file():
        import torch

        with torch.random.fork_rng(devices=[]):  # seeded LoRA init and training; the caller's RNG untouched
            torch.manual_seed(config.seed)
            _train(backend, pairs, config, out_dir, list(callbacks))
    if backend.adapter_path != out_dir:
        backend.load_adapter(out_dir)
    if ledger is not None:
        ledger.add_work("teacher_dpo_steps", config.steps)
        # Tokens through the model: the mean pair's (chosen + rejected) tokens times the pairs seen.
        ledger.add_work("teacher_dpo_tokens", round(tokens / len(pairs) * config.steps * config.batch_size))
    return out_dir


def _train(backend: TinyTeacherBackend, pairs: Sequence[PreferencePair], config: TeacherDPOConfig, out_dir: Path,
           callbacks: list[Any]) -> None:
    import datasets
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import PrinterCallback
    from trl import DPOConfig, DPOTrainer

    from teachenv.student.progress import no_loading_bars
    from teachenv.student.tiny_model import build_atomically

    if isinstance(backend.model, PeftModel):  # continue from the adapter it samples now (held in memory)
        model = backend.model
        for name, parameter in model.named_parameters():
            parameter.requires_grad_("lora_" in name)
    else:
        model = get_peft_model(backend.base, LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=0.0,
                                                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                                        task_type="CAUSAL_LM"))
    loss_type, loss_weights = config.trl_losses()
    datasets.disable_progress_bars()  # TRL's dataset preparation shows one bar per map otherwise
    data = datasets.Dataset.from_list([pair.model_dump() for pair in pairs])
    tokenizer = backend.tokenizer
    with tempfile.TemporaryDirectory(prefix="teacher-dpo-") as scratch, no_loading_bars():
        args = DPOConfig(output_dir=scratch, max_steps=config.steps, per_device_train_batch_size=config.batch_size,
                         learning_rate=config.learning_rate, beta=config.beta, loss_type=loss_type,
                         loss_weights=loss_weights, seed=config.seed, data_seed=config.seed, report_to=[],
                         save_strategy="no", logging_steps=max(1, config.steps), use_cpu=True,
                         disable_tqdm=True, dataloader_num_workers=0, lr_scheduler_type="constant")
        padding_side = tokenizer.padding_side
        try:
            tokenizer.padding_side = "right"
            trainer = DPOTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                                 callbacks=callbacks or None)
            trainer.remove_callback(PrinterCallback)  # no loss dicts on stdout: output stays fit for pipes
            trainer.train()
        finally:
            tokenizer.padding_side = padding_side
        model.eval()
        build_atomically(out_dir, lambda staging: model.save_pretrained(staging))
    backend.base = model.unload()  # the base weights, LoRA layers removed (the adapter is on disk)
    backend.model, backend.adapter_path, backend.adapter_hash = backend.base, None, None


def completion_logprobs(backend: TinyTeacherBackend, pairs: Sequence[PreferencePair]) -> list[tuple[float, float]]:
    """(log p(chosen | prompt), log p(rejected | prompt)) under what ``backend`` samples now, each summed
    over the completion's tokens and its end-of-sequence token: how far alignment moved the teacher."""
    import torch

    tokenizer, model = backend.tokenizer, backend.model

    def logprob(prompt: str, completion: str) -> float:
        prompt_ids = tokenizer(prompt)["input_ids"]
        ids = prompt_ids + tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
        scores = torch.log_softmax(logits, dim=-1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
        return float(scores[len(prompt_ids) - 1:].sum())

    model.eval()
    return [(logprob(p.prompt, p.chosen), logprob(p.prompt, p.rejected)) for p in pairs]
