"""``AlignedTeacherEngine`` (``aligned-teacher``): the LLM data engine whose teacher is aligned with DPO
every round before it writes, toward the examples the task's verifier accepts.

Each round, for every skill the action asks for: ``drafts_per_skill`` drafts are sampled from the tiny
teacher (``agent.teacher: {name: tiny-teacher}``) in its compact format at temperature 1; the task
verifies them; each accepted draft is paired (chosen) with a refused one (rejected) of the same skill.
With ``gold_fallback`` (default), a refused draft with no accepted one to pair with is paired with a
fresh example from the world's generator instead (a gold demonstration), so a weak teacher that
writes no correct draft still has a direction to move.
``align_teacher`` then runs DPO on the teacher's adapter (``align``: loss mix, beta, steps, lr), and the
round's examples are written by the aligned teacher through the ordinary LLM-engine path (JSON reply,
verification, the response cache, whose key now holds the new adapter's hash). The drafts and pairs
(``teacher-pairs.jsonl``) and the adapter (``teacher-adapter/``) are memos in the round's agent
workspace, so a resumed run reads them back instead of aligning again; DPO steps and tokens go to the
ledger. A round without both an accepted and a refused draft skips alignment. It is the smallest
honest teacher-learns loop (the feedback is the verifier, not the student); the LbT / ARTE /
Montessori agents build their pairs from student feedback instead and call the same ``align_teacher``.

Only a teacher with reachable weights can be aligned: an OpenAI-compatible endpoint cannot.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field

from teachenv.agents.llm_engine import LLMDataEngine, LLMEngineConfig
from teachenv.core.errors import ConfigError
from teachenv.core.records import DataGenerationAction
from teachenv.envs.data_engine import EngineOutput
from teachenv.teacher.align import AlignConfig, align_teacher
from teachenv.teacher.model import draft_verified, writing_prompt


class AlignedTeacherConfig(LLMEngineConfig):
    drafts_per_skill: int = Field(16, ge=2, description="Drafts sampled per requested skill to build the pairs.")
    gold_fallback: bool = Field(True, description="Pair refused drafts with generator examples when none was accepted.")
    align: AlignConfig = Field(default_factory=lambda: AlignConfig(steps=10), description="The DPO run of each round.")


class AlignedTeacherEngine(LLMDataEngine):
    name: ClassVar[str] = "aligned-teacher"
    Config: ClassVar[type[BaseModel]] = AlignedTeacherConfig

    def __init__(self, task: Any, ledger: Any, config: AlignedTeacherConfig | None = None, *,
                 teacher: Any = None) -> None:
        super().__init__(task, ledger, config or AlignedTeacherConfig(), teacher=teacher)
        self.config: AlignedTeacherConfig
        self.model = getattr(teacher, "inner", teacher)
        if not hasattr(self.model, "trainable_model"):
            raise ConfigError(f"Engine 'aligned-teacher' aligns its teacher's weights, and {type(self.model).__name__} "
                              "has none teachenv can train (an OpenAI-compatible endpoint can be scored and selected "
                              "from, not aligned): set agent.teacher.name: tiny-teacher.")
        self.workspace: Any = None

    def attach(self, env: Any) -> None:
        self.workspace = env.workspace

    def reset(self) -> None:
        super().reset()
        self.model.load_adapter(None)  # every episode starts from the unaligned teacher

    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        seed = int(rng.integers(0, 2**31 - 1))  # drawn outside the memos (see AgentWorkspace)
        skills = sorted({r.skill for r in action.requests if r.skill in self.task.skills})
        pairs = self.workspace.memo_jsonl("teacher-pairs", lambda: self._pairs(skills, seed))
        if pairs:
            adapter = self.workspace.memo_dir("teacher-adapter", lambda path: align_teacher(
                self.model, pairs, self.config.align, path, self.ledger,
                callbacks=getattr(self.workspace, "trainer_callbacks", ())))
            self.model.load_adapter(adapter)
        return super().generate(action, rng)

    def _pairs(self, skills: list[str], seed: int) -> list[dict[str, str]]:
        pairs = []
        for skill in skills:
            results = self.model.sample([writing_prompt(skill)] * self.config.drafts_per_skill, temperature=1.0,
                                        seed=seed)
            self.ledger.add_tokens("teacher-drafts", self.model.model_name, sum(r.prompt_tokens for r in results),
                                   sum(r.completion_tokens for r in results), calls=len(results))
            good, bad = [], []
            for r in results:
                text = r.text.strip()
                (good if draft_verified(self.task, skill, text) else bad).append(text)
            if self.config.gold_fallback and len(bad) > len(good):
                extra = self.task.generate(skill, len(bad) - len(good), np.random.default_rng(seed))
                good += [item.example.prompt + item.example.answer for item in extra]
            pairs += [{"prompt": writing_prompt(skill), "chosen": g, "rejected": b}
                      for g, b in zip(good, bad, strict=False) if g and b and g != b]
        return pairs
