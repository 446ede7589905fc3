"""``LeanSFTTrainer``: TRL's ``SFTTrainer`` without the per-step metrics teachenv never logs, and on CPU without
TRL's chunked log-probability kernel where the full logits are small.

TRL 1.x's ``SFTTrainer`` patches a fused LM head onto the model that computes, next to each completion
token's log-probability, its entropy and whether it is the top-1 token, and its ``compute_loss`` turns those
into the ``entropy`` / ``mean_token_accuracy`` / ``num_tokens`` metrics on every step (several host syncs a
step). teachenv trains with ``logging_strategy="no"``, so that work is never read: on the plumbing student it
is about a tenth of the forward + backward time (``benchmarks/bench_train_loop.py``). TRL has no switch for it,
so this subclass re-patches the same fused head with log-probabilities only (TRL's public
``trl.trainer.add_fused_lm_head`` and its ``outputs`` argument) and overrides ``compute_loss`` with TRL's own
plain negative log-likelihood branch minus the metrics. The log-probabilities, so the loss and every
gradient, are computed exactly as before (the dropped outputs are separate accumulators in TRL's kernel).

The fused head pays off on a GPU (a Triton kernel, and no ``(batch, length, vocab)`` logits in memory). On a
device without Triton TRL runs it as torch operations per tile, forward and again in the backward: on the
tiny student (vocabulary 101) that made the forward + backward about a fifth slower than the model's own
loss. So where the batch's logits are small (at most ``MODEL_LOSS_MAX_LOGITS`` values) on such a device,
``compute_loss`` asks the model for its own loss (transformers' cross-entropy over the shifted labels, summed
and divided by the batch's completion tokens: the same quantity, so the same loss up to float rounding, and
bit for bit what a plain torch loop computes). Larger logits keep the fused head, so a real vocabulary on CPU
does not materialise them.

It also counts the model's parameters once for ``Trainer``'s per-step FLOP estimate instead of every step.

Coupling to TRL, kept to what is needed (``tests/student/test_sft_trainer.py`` fails if TRL changes it):
``SFTTrainer.__init__`` patches ``add_fused_lm_head`` onto the base model's instance ``forward`` and
``SFTTrainer.compute_loss(model, inputs, return_outputs, num_items_in_batch)`` is the method overridden. The
lean path applies only to the configuration teachenv uses (``loss_type="nll"``, no label smoothing, no
``compute_loss_func``, no MoE auxiliary loss, no parallelism config); any other configuration keeps TRL's
head and ``compute_loss`` untouched. This module knows nothing about students, tasks or rounds.
"""

from __future__ import annotations

from typing import Any

import torch
from trl import SFTTrainer
from trl.trainer import add_fused_lm_head

#: The most logits (tokens × vocabulary) a batch may have for the model's own loss on a device without Triton:
#: 2**22 float32 values are 16 MiB (and as much again for their gradient); the tiny student's batches have ~5e4.
MODEL_LOSS_MAX_LOGITS = 2**22
#: Devices on which TRL's fused head runs its Triton kernel; elsewhere it is torch operations per tile.
_TRITON_DEVICES = ("cuda", "xpu")


class LeanSFTTrainer(SFTTrainer):
    """``SFTTrainer`` whose fused LM head computes log-probabilities only, with no per-step metrics."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        model = kwargs.get("model", args[0] if args else None)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        forward_before = vars(base).get("forward")  # None unless something patched the instance already
        super().__init__(*args, **kwargs)
        self._flos_parameters: int | None = None
        self.lean = (self.compute_loss_func is None and self.label_smoother is None
                     and self.args.loss_type == "nll" and not self.aux_loss_enabled
                     and getattr(self.accelerator, "parallelism_config", None) is None)
        if not self.lean:
            return
        # Undo TRL's patch (back to the forward it wrapped), then patch again asking for log-probabilities only.
        if forward_before is None:
            vars(base).pop("forward", None)
        else:
            base.forward = forward_before
        add_fused_lm_head(base, outputs=("log_probs",))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001, ANN201
        """TRL's negative log-likelihood branch as it is, without the entropy / accuracy / token-count metrics."""
        if not self.lean:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        inputs["use_cache"] = False
        if self._model_loss_pays(inputs):
            return self._model_loss(model, inputs, return_outputs, num_items_in_batch)
        outputs = model(**inputs, fused_lm_head=True)
        per_token_loss = -outputs.log_probs  # zero on ignored positions
        num_tokens = outputs.label_mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = per_token_loss.sum() / torch.as_tensor(num_tokens).clamp(min=1)
        return self._finish(loss, outputs, return_outputs, num_items_in_batch)

    def _model_loss_pays(self, inputs: dict[str, Any]) -> bool:
        """Whether this batch goes through the model's own loss: a device without Triton and small logits."""
        labels = inputs.get("labels")
        if labels is None or labels.device.type in _TRITON_DEVICES or "shift_labels" in inputs:
            return False
        head = self.model.get_output_embeddings()
        return head is not None and labels.numel() * head.weight.shape[0] <= MODEL_LOSS_MAX_LOGITS

    def _model_loss(self, model, inputs, return_outputs, num_items_in_batch):  # noqa: ANN001, ANN202
        """The model's own cross-entropy, summed over the completion tokens and divided by their count (TRL's
        ``num_items_in_batch``, or this batch's, at least 1 as in TRL's branch)."""
        num_tokens = inputs["labels"][..., 1:].ne(-100).sum() if num_items_in_batch is None else num_items_in_batch
        outputs = model(**inputs, num_items_in_batch=torch.as_tensor(num_tokens).clamp(min=1))
        return self._finish(outputs.loss, outputs, return_outputs, num_items_in_batch)

    def _finish(self, loss, outputs, return_outputs, num_items_in_batch):  # noqa: ANN001, ANN202
        """TRL's ending of ``compute_loss``: the loss scaled when tokens are averaged across devices, with the
        outputs when asked for."""
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())
        return (loss, outputs) if return_outputs else loss

    def floating_point_ops(self, inputs: dict[str, Any]) -> int:
        """``Trainer``'s estimate (6 × input tokens × non-embedding parameters) with the parameter count read once:
        ``Trainer`` asks for it every step, and counting walks every parameter of the model each time."""
        main_input = getattr(self.model, "main_input_name", "input_ids")
        if main_input not in inputs or not hasattr(self.model, "num_parameters"):
            return 0
        if self._flos_parameters is None:
            self._flos_parameters = self.model.num_parameters(exclude_embeddings=True)
        return 6 * inputs[main_input].numel() * self._flos_parameters
