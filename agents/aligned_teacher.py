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
honest teacher-learns loop (the feedback is the verifier, not the student); the round itself (drafts, memos,
DPO, the one adapter load, the writing) is ``agents.teacher_alignment.TeacherAligningEngine``, which the
ARTE / Montessori engines share, with the student's feedback as their signal instead.

Only a teacher with reachable weights can be aligned: an OpenAI-compatible endpoint cannot.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field

from teachenv.agents.teacher_alignment import TeacherAligningConfig, TeacherAligningEngine
from teachenv.teacher.align import text_pair


class AlignedTeacherConfig(TeacherAligningConfig):
    gold_fallback: bool = Field(True, description="Pair refused drafts with generator examples when none was accepted.")


class AlignedTeacherEngine(TeacherAligningEngine):
    name: ClassVar[str] = "aligned-teacher"
    Config: ClassVar[type[BaseModel]] = AlignedTeacherConfig
    prefix: ClassVar[str] = "teacher"

    def __init__(self, task: Any, ledger: Any, config: AlignedTeacherConfig | None = None, *,
                 teacher: Any = None) -> None:
        super().__init__(task, ledger, config or AlignedTeacherConfig(), teacher=teacher)
        self.config: AlignedTeacherConfig

    def preference_pairs(self, skills: list[str], seed: int) -> list[dict[str, str]]:
        """Per skill, verified drafts (chosen) against refused ones (rejected), in draft order."""
        pairs = []
        for skill in skills:
            good, bad = [], []
            for question, answer in self.draft(skill, seed):
                ok = self.task.verify(self.task.candidate(skill, question, answer or "?", "teacher")).accepted
                (good if ok else bad).append((question, answer))
            if self.config.gold_fallback and len(bad) > len(good):
                extra = self.task.generate(skill, len(bad) - len(good), np.random.default_rng(seed))
                good += [(item.example.prompt, item.example.answer) for item in extra]
            request = self.preference_request(skill, {})
            for g, b in zip(good, bad, strict=False):
                pair = text_pair(self.model, request, g, b)
                if pair is not None:
                    pairs.append(pair)
        return pairs
