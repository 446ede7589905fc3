"""``TransformersVisionBackend``: batched generation with a Hugging Face image-text-to-text model.

It answers ``GenerationRequest``s that carry an ``image`` (PNG bytes) with any model that
``AutoModelForImageTextToText`` loads (LLaVA, Qwen2-VL, PaliGemma, the tiny LLaVA teachenv builds),
plain or PEFT-wrapped, and its ``AutoProcessor``. ``prompt_format`` says how a request becomes the
model's text:

- ``"plain"``: the processor's image token, a space, then the prompt (the tiny student's format,
  and that of models without a chat template);
- ``"chat"``: the processor's chat template over a user turn holding the image and the prompt
  (system message first when given), with the generation prompt added.

``prompt_text`` renders one request and is shared with training (``vision_student``), so the text
the student learns on is the text it is evaluated on. Requests are grouped by sampling settings and
by whether they have an image, cut into batches of ``batch_size``, padded on the left; greedy when
``temperature == 0``. The text returned is the completion up to the first end-of-sequence token.
It knows nothing about tasks, grading or training.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from teachenv.core.errors import ConfigError
from teachenv.engines.base import GenerationRequest, GenerationResult, TextBackend
from teachenv.engines.batching import plan_batches
from teachenv.engines.transformers_backend import completion_result, eos_token_ids

if TYPE_CHECKING:
    from PIL import Image
    from transformers import PreTrainedModel, ProcessorMixin

VisionPromptFormat = Literal["plain", "chat"]


def default_prompt_format(processor: ProcessorMixin) -> VisionPromptFormat:
    """``chat`` when the processor (or its tokenizer) has a chat template, else ``plain``."""
    tokenizer = getattr(processor, "tokenizer", None)
    has_template = getattr(processor, "chat_template", None) or getattr(tokenizer, "chat_template", None)
    return "chat" if has_template else "plain"


def image_token(processor: ProcessorMixin) -> str:
    token = getattr(processor, "image_token", None) or getattr(getattr(processor, "tokenizer", None), "image_token", None)
    if not token:
        raise ConfigError(f"{type(processor).__name__} names no image token; use prompt_format 'chat' with a "
                          "processor that has a chat template.")
    return token


def user_messages(prompt: str, system: str | None = None, with_image: bool = True) -> list[dict[str, Any]]:
    """A user turn holding the image placeholder and ``prompt`` (system message first when given)."""
    content: list[dict[str, Any]] = [{"type": "image"}] if with_image else []
    content.append({"type": "text", "text": prompt})
    messages: list[dict[str, Any]] = [{"role": "system", "content": [{"type": "text", "text": system}]}] if system else []
    messages.append({"role": "user", "content": content})
    return messages


def prompt_text(processor: ProcessorMixin, prompt_format: VisionPromptFormat, prompt: str, *,
                system: str | None = None, with_image: bool = True) -> str:
    """The text the model continues for ``prompt`` (before the processor expands the image token)."""
    if prompt_format == "chat":
        return processor.apply_chat_template(user_messages(prompt, system, with_image), add_generation_prompt=True,
                                             tokenize=False)
    return f"{image_token(processor)} {prompt}" if with_image else prompt


def decode_png(data: bytes) -> Image.Image:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


class TransformersVisionBackend(TextBackend):
    """Generate with an image-text-to-text ``model`` and its ``processor`` in left-padded batches."""

    def __init__(self, model: PreTrainedModel, processor: ProcessorMixin, *, batch_size: int = 64,
                 model_name: str | None = None, prompt_format: VisionPromptFormat | None = None) -> None:
        if batch_size < 1:
            raise ConfigError(f"TransformersVisionBackend batch_size must be ≥ 1, got {batch_size}.")
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.batch_size = batch_size
        self.prompt_format = prompt_format or default_prompt_format(processor)
        self.model_name = model_name or getattr(model.config, "name_or_path", None) or type(model).__name__

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        import torch

        results: list[GenerationResult | None] = [None] * len(requests)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for batch in plan_batches(requests, self.batch_size, extra_key=lambda r: r.image is not None):
                    outputs = self._generate_batch([requests[i] for i in batch.indices], batch.seed)
                    for i, result in zip(batch.indices, outputs, strict=True):
                        results[i] = result
        finally:
            self.model.train(was_training)
        return results  # type: ignore[return-value]

    def _generate_batch(self, batch: list[GenerationRequest], seed: int | None) -> list[GenerationResult]:
        import torch
        from transformers import GenerationConfig

        settings = batch[0]
        with_image = settings.image is not None
        texts = [prompt_text(self.processor, self.prompt_format, r.prompt, system=r.system, with_image=with_image)
                 for r in batch]
        images = [decode_png(r.image) for r in batch] if with_image else None  # type: ignore[arg-type]
        inputs = self.processor(images=images, text=texts, padding=True, padding_side="left",
                                add_special_tokens=False, return_tensors="pt")
        device = next(self.model.parameters()).device
        dtype = next(self.model.parameters()).dtype
        inputs = {k: v.to(device=device, dtype=dtype) if v.is_floating_point() else v.to(device)
                  for k, v in inputs.items()}
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        eos_ids = eos_token_ids(self.model, self.tokenizer)
        sampling = settings.temperature > 0
        config = GenerationConfig(max_new_tokens=settings.max_new_tokens, do_sample=sampling,
                                  temperature=settings.temperature if sampling else None,
                                  top_p=settings.top_p if sampling else None, top_k=None,
                                  pad_token_id=pad_id, eos_token_id=eos_ids or None)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            if sampling:
                torch.manual_seed(seed)
            output = self.model.generate(**inputs, generation_config=config)
        width = inputs["input_ids"].shape[1]
        prompt_lengths = inputs["attention_mask"].sum(dim=1).tolist()
        return [completion_result(self.tokenizer, row, int(n), eos_ids)
                for row, n in zip(output[:, width:].cpu().tolist(), prompt_lengths, strict=True)]
