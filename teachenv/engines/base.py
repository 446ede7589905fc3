"""``TextBackend``: the one narrow generation interface every inference engine fits behind
(transformers, vLLM, OpenAI-compatible servers): a batch of requests in, texts and token usage out.

It knows nothing about tasks or training. (A teacher's data-generation engine, which does know the
task, is ``teachenv.envs.data_engine.DataEngine``.)
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.ledger import CostLedger

class GenerationRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")
    prompt: str
    image: bytes | None = Field(None, description="PNG bytes the prompt asks about, for vision backends.")
    max_new_tokens: int = Field(64, ge=1)
    temperature: float = Field(0.0, ge=0, description="0 = greedy.")
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = None
    system: str | None = Field(None, description="System message, for chat backends (ignored by plain LMs).")
    json_schema: dict[str, Any] | None = Field(
        None, description="Structured output: the reply must be JSON matching this schema (where the backend can "
        "enforce it; callers still validate)."
    )
    schema_name: str = Field("reply", description="Name of ``json_schema`` (the OpenAI protocol requires one).")

    def chat_messages(self) -> list[dict[str, Any]]:
        """The request as a conversation: the system message (if any), then the prompt from the user
        (with the image first as an OpenAI ``image_url`` data-URL part when there is one)."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        if self.image is None:
            messages.append({"role": "user", "content": self.prompt})
        else:
            url = "data:image/png;base64," + base64.b64encode(self.image).decode()
            messages.append({"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                                         {"type": "text", "text": self.prompt}]})
        return messages

    def plain_text(self) -> str:
        """The request as one text, for models without a chat template: the system message as a first line."""
        return f"{self.system}\n{self.prompt}" if self.system else self.prompt


class GenerationResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    error: str | None = Field(None, description="Why the call failed after its retries (``text`` is then empty).")


class TextBackend(ABC):
    """Batch of requests → texts + token usage, in the same order."""

    #: The model's name, as used by the price table and the run log.
    model_name: str = "unknown"
    #: Options of a backend built from a config (``agent.teacher``); None = not buildable from one.
    Config: ClassVar[type[BaseModel] | None] = None

    @classmethod
    def from_config(cls, config: Any) -> TextBackend:
        """Build the backend a config names (``agent.teacher``) from its validated options (``Config``)."""
        raise NotImplementedError(f"{cls.__name__} cannot be built from a config.")

    @abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]: ...

    def identity(self) -> dict[str, Any]:
        """What, beside a request, decides the reply (the response cache's key): model, adapter version."""
        return {"model": self.model_name}

    def sleep(self) -> None:
        """Give accelerator memory back while the student trains (vLLM's sleep mode); default: nothing."""

    def wake_up(self) -> None:
        """Undo ``sleep`` before the next call."""

    def close(self) -> None:
        """Release what the backend holds (servers, GPU memory); the default holds nothing."""

    def generate_metered(self, requests: Sequence[GenerationRequest], ledger: CostLedger | None,
                         role: str) -> list[GenerationResult]:
        """``generate`` and report the batch's token usage into ``ledger`` under ``role``."""
        results = self.generate(requests)
        if ledger is not None and results:
            ledger.add_tokens(role, self.model_name, sum(r.prompt_tokens for r in results),
                              sum(r.completion_tokens for r in results), calls=len(results))
        return results
