"""``MontessoriEngine`` (``montessori``): Montessori-Instruct as a data engine — the teacher is aligned with DPO
every round toward the drafts whose *local data influence* on the current student is highest, then writes the
round's data.

Per requested skill the teacher (``agent.teacher``: ``tiny-teacher`` offline, ``local-teacher`` on a GPU)
drafts ``drafts_per_skill`` examples; each draft's influence is the student's probe-loss change after one SGD
step of ``influence_lr`` on the draft alone, the weights restored (``teachenv.student.feedback.local_influence``),
on ``probe_per_skill`` training-side items of the draft's skill. The top-influence drafts of each skill are
paired (chosen) with the bottom ones (rejected), ``pairs_per_skill`` a skill where the gap exceeds
``min_gap``; ``align_teacher`` runs DPO on them (``align``: the loss mix, by default sigmoid DPO + SFT on the
chosen side) and the aligned teacher writes the round's examples through the LLM-engine path. The round's
body (drafts, scoring, pairs, memos, artefacts, ledger) is ``agents.student_preference``; this module only
fixes the signal. On the tiny students influence does carry information (README "Student-feedback signals":
correct > corrupted in 21 of 24 pairs), but it ranks good data weakly, so it is a preference signal for the
teacher, not a selector. An OpenAI-compatible teacher cannot be aligned: a ConfigError says so.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from teachenv.agents.student_preference import StudentPreferenceConfig, StudentPreferenceEngine


class MontessoriConfig(StudentPreferenceConfig):
    """Options of ``montessori`` (the signal is local influence; see ``StudentPreferenceConfig``)."""


class MontessoriEngine(StudentPreferenceEngine):
    name: ClassVar[str] = "montessori"
    Config: ClassVar[type[BaseModel]] = MontessoriConfig
    prefix: ClassVar[str] = "montessori"

    def __init__(self, task: Any, ledger: Any, config: MontessoriConfig | None = None, *,
                 teacher: Any = None) -> None:
        super().__init__(task, ledger, config or MontessoriConfig(), teacher=teacher)
