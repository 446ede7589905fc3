"""The two engine interfaces.

``TextBackend``: the one narrow generation interface every inference engine fits behind
(transformers here; vLLM and OpenAI-compatible servers later): a batch of requests in, texts and
token usage out. It knows nothing about tasks or training.

``DataEngine``: a teacher's data-generation engine: a ``DataGenerationAction`` in, candidate
``TrainingExample``s out. It reports token usage into the environment's ledger. It does not
verify: the environment verifies every candidate through the task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, TrainingExample


class GenerationRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    prompt: str
    max_new_tokens: int = Field(64, ge=1)
    temperature: float = Field(0.0, ge=0, description="0 = greedy.")
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = None


class GenerationResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"


class TextBackend(ABC):
    """Batch of requests → texts + token usage, in the same order."""

    #: The model's name, as used by the price table and the run log.
    model_name: str = "unknown"

    @abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]: ...

    def generate_metered(self, requests: Sequence[GenerationRequest], ledger: CostLedger | None,
                         role: str) -> list[GenerationResult]:
        """``generate`` and report the batch's token usage into ``ledger`` under ``role``."""
        results = self.generate(requests)
        if ledger is not None and results:
            ledger.add_tokens(role, self.model_name, sum(r.prompt_tokens for r in results),
                              sum(r.completion_tokens for r in results), calls=len(results))
        return results


class DataEngine(ABC):
    """A teacher's data-generation engine; built by the environment with the task and the ledger."""

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel] | None] = None

    def reset(self) -> None:
        """Called by the environment's ``reset``: forget everything about the previous episode."""

    @abstractmethod
    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> list[TrainingExample]:
        """Candidate examples for ``action.requests`` (ready-made ``action.examples`` are not its job)."""
