"""``TransformersBackend``: batched text generation with a Hugging Face causal LM, in-process.

It wraps any causal LM (a plain ``transformers`` model or a PEFT-wrapped one) and its tokenizer
behind the narrow ``TextBackend`` interface. Requests are grouped by their sampling settings,
sorted by prompt length within a group and cut into batches of ``batch_size``, so that a batch
pads little; prompts are padded on the **left** so every row's last prompt token sits in the
last column and generated tokens line up. Results come back in the order of the requests.

Greedy decoding when ``temperature == 0``; otherwise sampling, with torch's RNG seeded per batch
from the requests' ``seed`` (``teachenv.engines.batching``: later batches of one group get derived
seeds; the caller's RNG state is restored afterwards). Generation stops at
the end-of-sequence token; the text returned is the completion only, special tokens removed.

``prompt_format`` says what the model continues: ``"raw"`` (the default, for the student's task
prompts) is the prompt as is, a request's ``system`` ignored; ``"system-line"`` prepends the system
message as a line; ``"chat-template"`` renders system + user messages with the tokenizer's chat
template (generation prompt added; tokenized without adding special tokens, since the template
writes its own), or falls back to a system line when the tokenizer has no template. A backend
built from a config (``TransformersBackendConfig``, e.g. a local teacher) uses one of the last
two. ``json_schema`` is not enforced here; callers validate the replies.

It knows nothing about tasks, grading or training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.errors import ConfigError
from teachenv.engines.base import GenerationRequest, GenerationResult, TextBackend
from teachenv.engines.batching import plan_batches

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


_DTYPES = ("float32", "bfloat16", "float16")
PromptFormat = Literal["raw", "system-line", "chat-template"]


class TransformersBackendConfig(BaseModel):
    """Options of the ``transformers`` backend (``agent.teacher`` with ``name: transformers``)."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(description="Hugging Face causal LM id or local path.")
    device: str = Field("cpu", description="'cpu', 'cuda', 'cuda:1', ...")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    batch_size: int = Field(16, ge=1, description="Prompts per generate call.")
    chat_template: bool = Field(
        True, description="Render system + user messages with the tokenizer's chat template when it has one; "
        "False (or no template) = the prompt with the system message prepended as a line."
    )


class TransformersBackend(TextBackend):
    """Generate with ``model`` and ``tokenizer`` in batches of ``batch_size`` (left padded)."""

    Config = TransformersBackendConfig

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *, batch_size: int = 64,
                 model_name: str | None = None, prompt_format: PromptFormat = "raw") -> None:
        if batch_size < 1:
            raise ConfigError(f"TransformersBackend batch_size must be ≥ 1, got {batch_size}.")
        if prompt_format not in ("raw", "system-line", "chat-template"):
            raise ConfigError(f"prompt_format must be 'raw', 'system-line' or 'chat-template', got {prompt_format!r}.")
        if tokenizer.pad_token_id is None and tokenizer.eos_token_id is None:
            raise ConfigError(
                f"Tokenizer {type(tokenizer).__name__} has neither a pad nor an eos token; batched generation "
                "needs one. Set tokenizer.pad_token before building the backend."
            )
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.prompt_format = prompt_format
        self.model_name = model_name or getattr(model.config, "name_or_path", None) or type(model).__name__

    @classmethod
    def from_pretrained(cls, name_or_path: str, *, batch_size: int = 64, device: str = "cpu",
                        dtype: str = "float32", model_name: str | None = None,
                        prompt_format: PromptFormat = "raw") -> TransformersBackend:
        """Load any causal LM (Hugging Face id, local path, or a name `teachenv models fetch` fetched) and its
        tokenizer."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if dtype not in _DTYPES:
            raise ConfigError(f"dtype {dtype!r} is not supported; use one of {', '.join(_DTYPES)}.")
        from teachenv.core.model_store import load_pretrained  # a Hub id, a local path or a fetched model

        tokenizer = load_pretrained(AutoTokenizer, name_or_path)
        if tokenizer.pad_token is None:
            # Many causal LMs ship without a pad token; left padding only needs *some* id under a zero mask.
            tokenizer.pad_token = tokenizer.eos_token
        model = load_pretrained(AutoModelForCausalLM, name_or_path, dtype=getattr(torch, dtype)).to(device)
        return cls(model, tokenizer, batch_size=batch_size, model_name=model_name or name_or_path,
                   prompt_format=prompt_format)

    @classmethod
    def from_config(cls, config: Any) -> TransformersBackend:
        return cls.from_pretrained(config.model, batch_size=config.batch_size, device=config.device,
                                   dtype=config.dtype,
                                   prompt_format="chat-template" if config.chat_template else "system-line")

    # -- generation ----------------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        import torch

        if not requests:
            return []
        templated = self.prompt_format == "chat-template" and bool(getattr(self.tokenizer, "chat_template", None))
        # A chat template writes its own special tokens (<bos> and the like); adding them again would double them.
        prompt_ids = self.tokenizer([self._render(r, templated) for r in requests],
                                    add_special_tokens=not templated)["input_ids"]
        results: list[GenerationResult | None] = [None] * len(requests)
        was_training = self.model.training
        self.model.eval()  # no dropout (LoRA dropout included) while generating
        try:
            with torch.inference_mode():
                for batch in plan_batches(requests, self.batch_size, length=lambda i: len(prompt_ids[i])):
                    outputs = self._generate_batch([prompt_ids[i] for i in batch.indices],
                                                   requests[batch.indices[0]], batch.seed)
                    for i, result in zip(batch.indices, outputs, strict=True):
                        results[i] = result
        finally:
            self.model.train(was_training)
        return results  # type: ignore[return-value]

    def _render(self, request: GenerationRequest, templated: bool) -> str:
        """The text the model continues (see ``prompt_format`` in the module docstring)."""
        if self.prompt_format == "raw":
            return request.prompt
        if not templated:
            return request.plain_text()
        return self.tokenizer.apply_chat_template(request.chat_messages(), add_generation_prompt=True, tokenize=False)

    def _generate_batch(self, batch_ids: list[list[int]], settings: GenerationRequest,
                        seed: int | None) -> list[GenerationResult]:
        import torch
        from transformers import GenerationConfig

        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        eos_ids = eos_token_ids(self.model, self.tokenizer)
        width = max(len(ids) for ids in batch_ids)
        device = self._device()
        input_ids = torch.full((len(batch_ids), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch_ids), width), dtype=torch.long)
        for row, ids in enumerate(batch_ids):  # left padding: the prompts end in the last column
            input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids):] = 1

        sampling = settings.temperature > 0
        config = GenerationConfig(
            max_new_tokens=settings.max_new_tokens,
            do_sample=sampling,
            temperature=settings.temperature if sampling else None,
            top_p=settings.top_p if sampling else None,
            top_k=None,
            pad_token_id=pad_id,
            eos_token_id=eos_ids or None,
        )
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            if sampling:
                torch.manual_seed(seed)
            output = self.model.generate(
                input_ids=input_ids.to(device), attention_mask=attention_mask.to(device), generation_config=config
            )
        return [completion_result(self.tokenizer, row.tolist(), len(ids), eos_ids)
                for row, ids in zip(output[:, width:].cpu(), batch_ids, strict=True)]

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device


def eos_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every id that ends a completion: the generation config's, plus the tokenizer's eos."""
    eos = getattr(model.generation_config, "eos_token_id", None)
    ids = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def completion_result(tokenizer: Any, generated: list[int], prompt_tokens: int, eos_ids: list[int]) -> GenerationResult:
    """One row of generated ids cut at its first end-of-sequence token (kept in the count), decoded."""
    stop = next((k for k, token in enumerate(generated) if token in eos_ids), None)
    tokens = generated if stop is None else generated[: stop + 1]
    return GenerationResult(
        text=tokenizer.decode(tokens, skip_special_tokens=True),
        prompt_tokens=prompt_tokens,
        completion_tokens=len(tokens),
        finish_reason="length" if stop is None else "stop",
    )
