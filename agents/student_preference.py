"""``StudentPreferenceEngine``: the teacher-aligning round (``agents.teacher_alignment``) with the *student's*
feedback as the preference signal — the common body of ``montessori`` and ``arte``.

Per requested skill the teacher drafts ``drafts_per_skill`` examples; the environment's student scores each
draft on a probe set of ``probe_per_skill`` training-side items of the draft's skill (never validation or
test; drawn per round and skill from the round's seed) with ``signal``:

- ``influence`` — local data influence (``teachenv.student.feedback.local_influence``): the probe loss
  before minus after one SGD step of ``influence_lr`` on the draft alone, the weights restored;
- ``in-context`` — the in-context score (``feedback.in_context_scores``): with the draft as the in-context
  exemplar of every probe item, the student's teacher-forced greedy accuracy (``metric: accuracy``) or mean
  gold log-likelihood (``metric: loglik``) on the probe set.

Before the student's first training it has no adapter: ``student.adapter_for_scoring(seed)`` puts a fresh
one on for the scoring and drops it after, as LbT does. Each skill's drafts are ranked by score; the i-th best
is paired (chosen) with the i-th worst (rejected) for i < ``pairs_per_skill`` (at most half the drafts), kept
where the score gap exceeds ``min_gap`` and the two texts differ. Artefacts in ``rounds/<k>/agent/``:
``<prefix>-drafts.json`` (a memo: every draft with its skill, question, answer and score, read back on resume
instead of scoring a replayed student), then the shared ``<prefix>-pairs.jsonl`` (with both scores),
``<prefix>-adapter/``, ``<prefix>-round.json`` and ``<prefix>-data.json``. The scoring's student forward
passes and optimiser steps, the drafts' teacher tokens and the DPO steps go to the ledger. It knows no
policy; the engines that use it fix or expose ``signal``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from teachenv.agents.teacher_alignment import TeacherAligningConfig, TeacherAligningEngine, align_round
from teachenv.core.errors import ConfigError
from teachenv.core.records import TaskExample, TrainingExample
from teachenv.teacher.align import text_pair

Signal = Literal["influence", "in-context"]


class StudentPreferenceConfig(TeacherAligningConfig):
    pairs_per_skill: int = Field(4, ge=1, description="Top-vs-bottom pairs per skill (at most half the drafts).")
    min_gap: float = Field(0.0, ge=0, description="A pair is kept only where chosen score - rejected score > min_gap.")
    probe_per_skill: int = Field(8, ge=1, description="Probe / preference-set items per skill, from the training side.")
    influence_lr: float = Field(0.05, gt=0, description="SGD step size of the one-step influence.")
    batch_size: int = Field(64, ge=1, description="Rows per student forward pass while scoring.")


def training_items(task: Any, skill: str, count: int, seed: int) -> list[TaskExample]:
    """``count`` training-side items of ``skill`` (never validation or test), drawn for ``seed`` and the skill."""
    return task.seed_examples(skill, count, np.random.default_rng([seed, zlib.crc32(skill.encode())]))


def probe_items(task: Any, skill: str, count: int, seed: int, origin: str) -> list[TrainingExample]:
    """``count`` training-side examples of ``skill`` with their gold answers (never validation or test)."""
    return [task.candidate(e.skill, e.prompt, e.answer, f"{origin}-probe")
            for e in training_items(task, skill, count, seed)]


def lora_student(env: Any, who: str) -> Any:
    """The environment's student past a replay wrapper; a ConfigError naming ``who`` unless it is a LoRA student
    (the feedback signals work through its model)."""
    student = getattr(env.student, "inner", env.student)
    if not hasattr(student, "adapter_for_scoring"):
        raise ConfigError(f"{who} scores drafts through a LoRA student's model; {type(student).__name__} has none. "
                          "Use a LoRA student (student.model: tiny, plumbing, or a Hugging Face model).")
    return student


def student_scores(student: Any, drafts: Sequence[TrainingExample], probe: Sequence[TrainingExample], signal: Signal,
                   *, metric: Literal["accuracy", "loglik"] = "accuracy", learning_rate: float = 0.05,
                   batch_size: int = 64, ledger: Any = None) -> list[float]:
    """One student's score of each draft on ``probe`` by ``signal`` (see the module docstring)."""
    from teachenv.student.feedback import in_context_scores, local_influence

    if signal == "influence":
        return local_influence(student, [[d] for d in drafts], probe, learning_rate=learning_rate,
                               batch_size=batch_size, ledger=ledger).influence
    scores = in_context_scores(student, drafts, probe, batch_size=batch_size, ledger=ledger)
    return scores.accuracy if metric == "accuracy" else scores.mean_loglik


def top_bottom_pairs(scores: Sequence[float], count: int, min_gap: float) -> list[tuple[int, int]]:
    """(chosen, rejected) indices: the i-th best against the i-th worst, i < min(count, len // 2), where the gap
    exceeds ``min_gap`` (equal scores keep draft order)."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    n = min(count, len(order) // 2)
    return [(order[i], order[-1 - i]) for i in range(n) if scores[order[i]] - scores[order[-1 - i]] > min_gap]


class StudentPreferenceEngine(TeacherAligningEngine):
    """The teacher aligned toward the drafts the environment's student scores highest (see the module docstring)."""

    def __init__(self, task: Any, ledger: Any, config: StudentPreferenceConfig, *, teacher: Any = None) -> None:
        super().__init__(task, ledger, config, teacher=teacher)
        self.config: StudentPreferenceConfig

    @property
    def signal(self) -> Signal:
        return "influence"

    @property
    def metric(self) -> Literal["accuracy", "loglik"]:
        return "accuracy"

    def round_pairs(self, skills: list[str], seed: int) -> list[dict]:
        record = self.workspace.memo_json(f"{self.prefix}-drafts", lambda: self.scored_drafts(skills, seed))
        return align_round(self.model, self.workspace, self.ledger, self.config.align,
                           lambda: self.pairs_from(record["drafts"]),
                           pairs_name=f"{self.prefix}-pairs", adapter_name=f"{self.prefix}-adapter")

    def scored_drafts(self, skills: list[str], seed: int) -> dict[str, Any]:
        """The round's drafts with the student's score of each (the ``<prefix>-drafts`` memo)."""
        student = lora_student(self.env, f"Engine {self.name!r}")
        rows = []
        with student.adapter_for_scoring(seed):
            for skill in skills:
                drafts = [self.task.candidate(skill, q, a or "?", self.name) for q, a in self.draft(skill, seed)]
                if not drafts:
                    continue
                probe = probe_items(self.task, skill, self.config.probe_per_skill, seed, self.name)
                scores = student_scores(student, drafts, probe, self.signal, metric=self.metric,
                                        learning_rate=self.config.influence_lr, batch_size=self.config.batch_size,
                                        ledger=self.ledger)
                rows += [{"skill": skill, "question": d.example.prompt, "answer": d.example.answer,
                          "score": float(s)} for d, s in zip(drafts, scores, strict=True)]
        return {"signal": self.signal, "metric": self.metric if self.signal == "in-context" else None, "drafts": rows}

    def pairs_from(self, drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Per skill, top- vs bottom-scored drafts as DPO pairs in the teacher's form, with both scores."""
        pairs = []
        for skill in sorted({d["skill"] for d in drafts}):
            rows = [d for d in drafts if d["skill"] == skill]
            request = self.preference_request(skill, {})
            for best, worst in top_bottom_pairs([d["score"] for d in rows], self.config.pairs_per_skill,
                                                self.config.min_gap):
                chosen, rejected = rows[best], rows[worst]
                pair = text_pair(self.model, request, (chosen["question"], chosen["answer"]),
                                 (rejected["question"], rejected["answer"]))
                if pair is not None:
                    pairs.append({**pair, "skill": skill, "chosen_score": chosen["score"],
                                  "rejected_score": rejected["score"]})
        return pairs
