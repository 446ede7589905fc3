"""The two engine interfaces.

``TextBackend``: the one narrow generation interface every inference engine fits behind
(transformers here; vLLM and OpenAI-compatible servers later): a batch of requests in, texts and
token usage out. It knows nothing about tasks or training.

``DataEngine``: a teacher's data-generation engine: a ``DataGenerationAction`` in, candidate
``TrainingExample``s out. It reports token usage into the environment's ledger. It does not
verify: the environment verifies every candidate through the task.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.ledger import CostLedger
from teachenv.core.plan import parse_plan
from teachenv.core.records import DataGenerationAction, RejectedExample, SkillRequest, TrainingExample

if TYPE_CHECKING:
    from teachenv.tasks.base import Task


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
    def from_config(cls, config: Any, task: Task) -> TextBackend:
        """Build the backend a config names (``agent.teacher``); ``task`` is there for backends that need it."""
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


class EngineOutput(NamedTuple):
    """What an engine made of one action: candidates to verify, and what it could not use itself
    (a reply that was not JSON, a failed call, samples that disagree), kept with its reason."""

    candidates: list[TrainingExample]
    rejected: list[RejectedExample] = []


class DataEngine(ABC):
    """A teacher's data-generation engine; built by the environment with the task, the ledger and
    the agent's teacher backend (``agent.teacher``; None for engines that need no model)."""

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel] | None] = None

    def __init__(self, task: Task, ledger: CostLedger, config: Any = None, *,
                 teacher: TextBackend | None = None) -> None:
        self.task = task
        self.ledger = ledger
        self.config = config
        self.teacher = teacher

    def reset(self) -> None:
        """Called by the environment's ``reset``: forget everything about the previous episode."""

    def read_plan(self, plan: str) -> tuple[SkillRequest, ...]:
        """The requests a free-form plan stands for, or ``PlanError`` saying why this engine cannot use it.
        Default: the plan grammar of ``teachenv.core.plan`` over the task's skills."""
        return parse_plan(plan, self.task.skills).requests

    @abstractmethod
    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        """Candidate examples for ``action.requests`` (ready-made ``action.examples`` are not its job)."""
