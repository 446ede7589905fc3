"""``noisy``: a draft source that wraps another engine and plants wrong answers in a share of its drafts —
the stand-in for a fallible teacher in the offline worlds (the procedural engine is always right).

A planted draft keeps its question and gets an integer-shifted answer (``answer + offset``, offset a non-zero
integer in ``[-max_offset, max_offset]``), with ``origin`` ending in ``/planted-wrong`` so a study can count
them. Answers that are not integers are left as they are. It knows the engine interface, no world.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.config import EngineSpec
from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, TrainingExample
from teachenv.engines.base import TextBackend
from teachenv.envs.build import engine_from_spec
from teachenv.envs.data_engine import DataEngine, EngineOutput
from teachenv.tasks.base import Task

PLANTED = "planted-wrong"


class NoisyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    inner: EngineSpec = Field(default_factory=EngineSpec, description="The engine whose drafts are made noisy.")
    wrong_share: float = Field(0.3, ge=0, le=1, description="Share of drafts whose answer is replaced by a wrong one.")
    max_offset: int = Field(9, ge=1, description="A wrong answer is the right one plus a non-zero offset up to this.")


def plant_wrong(candidate: TrainingExample, offset: int) -> TrainingExample | None:
    """``candidate`` with its integer answer shifted by ``offset`` (None when the answer is not an integer)."""
    try:
        wrong = str(int(candidate.completion.strip()) + offset)
    except ValueError:
        return None
    example = candidate.example.model_copy(update={"answer": wrong})
    return candidate.model_copy(update={"example": example, "completion": wrong,
                                        "origin": f"{candidate.origin}/{PLANTED}"})


class NoisyEngine(DataEngine):
    name: ClassVar[str] = "noisy"
    Config: ClassVar[type[BaseModel]] = NoisyConfig

    def __init__(self, task: Task, ledger: CostLedger, config: NoisyConfig | None = None, *,
                 teacher: TextBackend | None = None) -> None:
        super().__init__(task, ledger, config or NoisyConfig(), teacher=teacher)
        self.config: NoisyConfig
        self.inner = engine_from_spec(self.config.inner, task, ledger, teacher, path="agent.engine.inner")

    def attach(self, env: Any) -> None:
        self.inner.attach(env)

    def reset(self) -> None:
        self.inner.reset()

    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        out = self.inner.generate(action, rng)
        noise = np.random.default_rng([int(rng.integers(0, 2**31 - 1)), 17])
        drafts = []
        for candidate in out.candidates:
            planted = None
            if noise.random() < self.config.wrong_share:
                offset = int(noise.integers(1, self.config.max_offset + 1)) * (1 if noise.random() < 0.5 else -1)
                planted = plant_wrong(candidate, offset)
            drafts.append(planted or candidate)
        return EngineOutput(drafts, list(out.rejected))
