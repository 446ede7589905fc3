"""``VLLMBackend``: batched generation with an in-process ``vllm.LLM``, optionally through a LoRA adapter.

One ``generate`` call is one batched vLLM call: a ``SamplingParams`` per request (temperature,
top_p, max_tokens, seed, and structured output when the request carries a JSON schema), results
in the order of the requests. With ``chat`` on (the default, for instruction-tuned teachers) each
request becomes a conversation (optional system message, then the prompt as the user message)
rendered by the model's chat template through ``LLM.chat``; with ``chat`` off the prompt goes to
``LLM.generate`` as is (the system message, if any, prepended as a line). A batch vLLM rejects
(a prompt longer than the context, say) is data, not a crash: every request of that batch gets a
result with ``finish_reason="error"`` and the exception's text.

Adapters: ``use_adapter(path)`` serves a PEFT adapter directory for the calls that follow. vLLM
caches adapters by ``lora_int_id`` (and compares requests by ``lora_name``), so reusing one id
for a retrained adapter would silently serve the stale weights; every ``use_adapter`` call with
a path therefore gets a fresh id and name (``AdapterVersions``). ``identity()`` carries the
adapter's content hash, so cached replies of one adapter version are never served for another.

Memory: ``gpu_memory_utilization`` is the share of the whole GPU this instance takes (weights,
activations, KV cache). With ``enable_sleep_mode``, ``sleep()`` offloads the weights to CPU and
drops the KV cache (vLLM's level 1) so that training can use the GPU, and ``wake_up()`` restores
them; ``generate`` wakes a sleeping instance itself.

It knows nothing about tasks, students or training; ``vllm`` is imported only when a backend is built.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.errors import ConfigError
from teachenv.engines.base import GenerationRequest, GenerationResult, TextBackend

INSTALL_HINT = "pip install 'teachenv[vllm]'"
#: The adapter weights file PEFT's ``save_pretrained`` writes (and vLLM loads).
ADAPTER_WEIGHTS = "adapter_model.safetensors"
#: LoRA ranks a vLLM instance can be sized for (``vllm.config.lora.MaxLoRARanks``, vLLM 0.11 – 0.33).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class VLLMBackendConfig(BaseModel):
    """Options of the ``vllm`` backend (``agent.teacher`` with ``name: vllm``): the ``vllm.LLM`` it builds."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(description="Hugging Face model id or local directory of the model to serve.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights and activations; 'auto' = the model's (float16 for float32 checkpoints)."
    )
    gpu_memory_utilization: float = Field(
        0.45, gt=0, le=1, description="Share of the GPU this instance takes (others on the GPU share the rest)."
    )
    max_model_len: int | None = Field(None, ge=16, description="Context length (default: the model's).")
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs the model is split across.")
    enable_lora: bool = Field(False, description="Allow serving LoRA adapters (`use_adapter`).")
    max_lora_rank: int = Field(64, ge=1, description=f"Largest LoRA rank served; one of {VLLM_LORA_RANKS}.")
    enable_sleep_mode: bool = Field(
        False, description="Allow `sleep()` to hand the GPU memory back (weights to CPU) while others train."
    )
    enforce_eager: bool = Field(False, description="Skip CUDA graphs: slower decoding, faster start, less memory.")
    seed: int = Field(0, description="Seed of the engine's sampler (requests may carry their own).")
    chat: bool = Field(
        True, description="Render requests with the model's chat template (`LLM.chat`); False = raw prompts."
    )


@dataclass(frozen=True)
class AdapterVersion:
    """One adapter version as vLLM sees it: a name and id never used before, and its content hash."""

    name: str
    int_id: int
    path: str
    sha256: str


class AdapterVersions:
    """Hands out a fresh ``(lora_name, lora_int_id)`` per adapter version: ids start at 1 (vLLM
    reserves 0 for "no adapter") and are never reused, since vLLM would serve its cached copy."""

    def __init__(self) -> None:
        self.issued = 0

    def next(self, path: str | Path) -> AdapterVersion:
        digest = adapter_hash(path)
        self.issued += 1
        return AdapterVersion(name=f"adapter-{self.issued}-{digest[:12]}", int_id=self.issued, path=str(path),
                              sha256=digest)


def adapter_hash(path: str | Path) -> str:
    """SHA-256 of the adapter directory's ``adapter_model.safetensors`` (what decides its replies)."""
    weights = Path(path) / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise ConfigError(f"No {ADAPTER_WEIGHTS} in adapter directory {str(path)!r}; save the adapter with "
                          "PEFT's save_pretrained (safetensors) first.")
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lora_rank_slot(rank: int) -> int:
    """The smallest LoRA rank vLLM can be sized for that holds ``rank``."""
    for slot in VLLM_LORA_RANKS:
        if slot >= rank:
            return slot
    raise ConfigError(f"LoRA rank {rank} is above the largest rank vLLM serves ({VLLM_LORA_RANKS[-1]}); "
                      "lower student.lora.r.")


def import_vllm() -> Any:
    """The ``vllm`` module, or a ConfigError that says how to install it."""
    try:
        import vllm
    except ImportError as exc:
        raise ConfigError(f"The vllm backend needs vLLM, which is not installed ({exc}). Install it with "
                          f"{INSTALL_HINT} (Linux with a CUDA GPU), or pick another backend "
                          "(student.eval.backend: transformers; agent.teacher.name: openai).") from None
    return vllm


def structured_output_kwargs(schema: dict[str, Any]) -> dict[str, Any]:
    """``SamplingParams`` keywords that constrain the reply to JSON matching ``schema``, in the form
    the installed vLLM takes: ``structured_outputs`` (≥ 0.11) or ``guided_decoding`` (older)."""
    try:
        from vllm.sampling_params import StructuredOutputsParams
    except ImportError:
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(json=schema)}
    return {"structured_outputs": StructuredOutputsParams(json=schema)}


class VLLMBackend(TextBackend):
    """Generate with an in-process ``vllm.LLM``; one batched call per ``generate``."""

    Config = VLLMBackendConfig

    def __init__(self, config: VLLMBackendConfig) -> None:
        vllm = import_vllm()
        if config.enable_lora and config.max_lora_rank not in VLLM_LORA_RANKS:
            raise ConfigError(f"max_lora_rank={config.max_lora_rank} is not a rank vLLM serves; use one of "
                              f"{VLLM_LORA_RANKS} (e.g. {lora_rank_slot(config.max_lora_rank)}).")
        self.config = config
        self.model_name = config.model
        options: dict[str, Any] = {
            "dtype": config.dtype,
            "gpu_memory_utilization": config.gpu_memory_utilization,
            "tensor_parallel_size": config.tensor_parallel_size,
            "enforce_eager": config.enforce_eager,
            "seed": config.seed,
            "enable_sleep_mode": config.enable_sleep_mode,
        }
        if config.max_model_len is not None:
            options["max_model_len"] = config.max_model_len
        if config.enable_lora:
            options.update(enable_lora=True, max_lora_rank=config.max_lora_rank, max_loras=1)
        self.llm: Any = vllm.LLM(model=config.model, **options)
        self.adapter: AdapterVersion | None = None
        self._versions = AdapterVersions()
        self._asleep = False

    @classmethod
    def from_config(cls, config: Any) -> VLLMBackend:
        return cls(config)

    def identity(self) -> dict[str, Any]:
        return {"model": self.model_name, "adapter": self.adapter.sha256 if self.adapter is not None else None}

    # -- adapters and memory -------------------------------------------------------------------

    def use_adapter(self, path: str | Path | None) -> AdapterVersion | None:
        """Serve the PEFT adapter in ``path`` from now on (None: the base model); a fresh LoRA id every call."""
        if path is not None and not self.config.enable_lora:
            raise ConfigError(f"VLLMBackend for {self.model_name!r} was built with enable_lora=False; "
                              "set enable_lora: true to serve adapters.")
        self.adapter = None if path is None else self._versions.next(path)
        return self.adapter

    def sleep(self) -> None:
        """Offload the weights to CPU and drop the KV cache (no-op unless ``enable_sleep_mode``)."""
        if self.config.enable_sleep_mode and not self._asleep:
            self.llm.sleep(level=1)
            self._asleep = True

    def wake_up(self) -> None:
        """Bring the weights and the KV cache back after ``sleep`` (no-op when awake)."""
        if self._asleep:
            self.llm.wake_up()
            self._asleep = False

    def close(self) -> None:
        """Shut the engine down and hand its GPU memory back."""
        if getattr(self, "llm", None) is None:
            return
        del self.llm
        self.llm = None
        gc.collect()
        try:
            import torch
        except ImportError:  # pragma: no cover - vLLM depends on torch
            return
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- generation ----------------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        if self.llm is None:
            raise ConfigError(f"VLLMBackend for {self.model_name!r} is closed; build a new one.")
        self.wake_up()
        lora = self._lora_request()
        try:
            params = [self._sampling_params(r) for r in requests]
            if self.config.chat:
                outputs = self.llm.chat([r.chat_messages() for r in requests], sampling_params=params, use_tqdm=False,
                                        lora_request=lora)
            else:
                outputs = self.llm.generate([r.plain_text() for r in requests], sampling_params=params,
                                            use_tqdm=False, lora_request=lora)
        except _rejection_errors() as exc:  # vLLM's rejections of a request; bugs still raise
            reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}"
            return [GenerationResult(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error",
                                     error=f"vLLM rejected the batch: {reason}") for _ in requests]
        return [_result(output) for output in outputs]

    def _sampling_params(self, request: GenerationRequest) -> Any:
        from vllm import SamplingParams

        options: dict[str, Any] = {
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_new_tokens,
            "seed": request.seed,
        }
        if request.json_schema is not None:
            options.update(structured_output_kwargs(request.json_schema))
        return SamplingParams(**options)

    def _lora_request(self) -> Any:
        if self.adapter is None:
            return None
        from vllm.lora.request import LoRARequest

        return LoRARequest(lora_name=self.adapter.name, lora_int_id=self.adapter.int_id, lora_path=self.adapter.path)


def _rejection_errors() -> tuple[type[Exception], ...]:
    """What vLLM raises when it rejects a request: ``ValueError``, and ``VLLMValidationError`` (a prompt
    over ``max_model_len``, say), which in vLLM 0.32 is a ``VLLMClientError``, not a ``ValueError``."""
    try:
        from vllm.exceptions import VLLMValidationError
    except ImportError:  # a vLLM without vllm.exceptions: its validation errors are ValueErrors
        return (ValueError,)
    return (ValueError, VLLMValidationError)


def _result(output: Any) -> GenerationResult:
    """One ``RequestOutput`` (its first completion) as a result; the eos token counts, as in transformers."""
    completion = output.outputs[0]
    return GenerationResult(
        text=completion.text,
        prompt_tokens=len(output.prompt_token_ids or ()),
        completion_tokens=len(completion.token_ids),
        finish_reason=completion.finish_reason or "stop",
    )
