"""``AlignedTeacherEngine`` (``aligned-teacher``): the LLM data engine whose teacher is aligned with DPO
every round before it writes, toward the examples the task's verifier accepts.

Each round, for every skill the action asks for: ``drafts_per_skill`` drafts are sampled at temperature 1
in one writing request of the LLM engine (the tiny teacher, ``agent.teacher: {name: tiny-teacher}``, answers
it in its compact format; a local causal LM, ``local-teacher``, in the engine's JSON); the task verifies
them; each accepted draft is paired (chosen) with a refused one (rejected) of the same skill, in the
backend's form of the engine's one-example writing request (``preference_text``).
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

from teachenv.agents.llm_engine import ExamplesReply, LLMDataEngine, LLMEngineConfig
from teachenv.core.errors import ConfigError
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.engines.json_reply import parse_reply
from teachenv.envs.data_engine import EngineOutput
from teachenv.teacher.align import AlignConfig, align_teacher


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
        if not hasattr(self.model, "trainable_model") or not hasattr(self.model, "preference_text"):
            raise ConfigError(f"Engine 'aligned-teacher' aligns its teacher's weights, and {type(self.model).__name__} "
                              "has none teachenv can train (an OpenAI-compatible endpoint can be scored and selected "
                              "from, not aligned): set agent.teacher.name: tiny-teacher (offline) or local-teacher.")
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
            n = self.config.drafts_per_skill
            ask = self._writing_request(SkillRequest(skill=skill, count=n), n, None, np.random.default_rng(seed),
                                        avoid=False).model_copy(update={"temperature": 1.0, "top_p": 1.0, "seed": seed})
            result = self.model.generate([ask])[0]
            self.ledger.add_tokens("teacher-drafts", self.model.model_name, result.prompt_tokens,
                                   result.completion_tokens, calls=1)
            try:
                drafts = [(e.question, e.answer) for e in parse_reply(result.text, ExamplesReply, None).examples[:n]]
            except ValueError:
                drafts = []  # an unusable reply: no drafts this round (gold fallback may still pair nothing)
            good, bad = [], []
            for question, answer in drafts:
                ok = self.task.verify(self.task.candidate(skill, question, answer or "?", "teacher")).accepted
                (good if ok else bad).append((question, answer))
            if self.config.gold_fallback and len(bad) > len(good):
                extra = self.task.generate(skill, len(bad) - len(good), np.random.default_rng(seed))
                good += [(item.example.prompt, item.example.answer) for item in extra]
            request = self.preference_request(skill, {})
            for g, b in zip(good, bad, strict=False):
                prompt, chosen = self.model.preference_text(request, *g)
                _, rejected = self.model.preference_text(request, *b)
                if chosen and rejected and chosen != rejected:
                    pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
        return pairs
