"""LbT M3: the exemplars a teacher writes from, refined round after round from the student's mistakes.

Each round, before the teacher drafts, the environment's student answers ``exam_per_skill`` training-side
items of every requested skill (greedy; never validation or test items). Its wrong answers (up to
``mistakes_shown`` per skill) and the skill's current exemplars go into the teacher's writing request (the
LLM engine's ``SkillGuidance``). After the round's drafts are scored (M1), the ``exemplars`` best-scored
*selected* drafts of each skill become its exemplars for the next round; a skill without a selected draft
keeps its set. Round 1 writes from the engine's seed examples. The exam is the environment's own student
(extra scoring students score drafts; they are not examined).

Artefacts in ``rounds/<k>/agent/``, both workspace memos a resume reads back: ``lbt-exam.json`` (per skill
the exam items as the teacher sees them, the student's answers, the gold answers and the credits) and
``lbt-exemplars.json`` (per skill the exemplars that write the next round). The exam's student answers are
counted as ``student_forward_passes``.

It needs a teacher that writes from its prompt, through the LLM engine: an OpenAI-compatible endpoint,
vLLM, transformers, ``local-teacher``, or the scripted teacher offline (which writes the student's missed
questions first, solved). The tiny teacher writes from the skill tag alone, so M3 with it is a ConfigError.
It knows the student's answers (``teachenv.student.feedback``) and the engine's guidance hook; nothing about
scoring, selection or DPO.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from teachenv.agents.student_preference import training_items
from teachenv.core.errors import ConfigError
from teachenv.core.records import TrainingExample
from teachenv.tasks.base import Task

#: Per skill, a list of records (JSON-ready): the exam's items or the exemplars.
SkillRecords = dict[str, list[dict[str, Any]]]


class LbtM3Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    exemplars: int = Field(3, ge=1, description="Exemplars per skill shown to the teacher in place of seed examples.")
    exam_per_skill: int = Field(16, ge=1, description="Training-side items per skill the student answers each round.")
    mistakes_shown: int = Field(5, ge=0, description="The student's wrong answers per skill listed for the teacher.")


def guided_engine(teacher: Any, inner: Any) -> Any:
    """The LLM engine inside the draft source ``inner`` whose writing M3 guides; a ConfigError when there is none
    or when its teacher does not read the prompt."""
    from teachenv.agents.llm_engine import llm_engine_inside

    engine = llm_engine_inside(inner)
    if engine is None:
        raise ConfigError(f"agent.engine.m3 shows a teacher the student's mistakes, but the draft source "
                          f"({type(inner).__name__}) asks no teacher: set agent.engine.inner.name: llm, or remove "
                          "agent.engine.m3.")
    backend = getattr(teacher, "inner", teacher)
    if not getattr(backend, "reads_prompt", True):
        raise ConfigError(f"agent.engine.m3 guides the teacher through its prompt, and {type(backend).__name__} "
                          "writes from the skill tag alone: use a teacher that reads its prompt (scripted offline, "
                          "local-teacher, transformers, vllm or openai), or remove agent.engine.m3.")
    return engine


def exam(student: Any, task: Task, skills: Iterable[str], per_skill: int, seed: int, ledger: Any) -> SkillRecords:
    """The student's greedy answers to ``per_skill`` training-side items of each skill, graded."""
    from teachenv.student.feedback import student_answers

    items = {skill: training_items(task, skill, per_skill, seed) for skill in sorted(set(skills))}
    answers = iter(student_answers(student, [e for skill_items in items.values() for e in skill_items], ledger=ledger))
    record: SkillRecords = {}
    for skill, skill_items in items.items():
        record[skill] = []
        for e in skill_items:
            [(said, credit)] = next(answers)
            record[skill].append({"question": task.teacher_view(e), "answer": said, "gold": e.answer, "credit": credit})
    return record


def guidance(exemplars: SkillRecords, exam_record: SkillRecords, shown: int) -> dict[str, Any]:
    """The LLM engine's guidance per skill: its exemplars and up to ``shown`` of the student's wrong answers."""
    from teachenv.agents.llm_engine import SkillGuidance

    out = {}
    for skill in sorted(set(exemplars) | set(exam_record)):
        mistakes = [r for r in exam_record.get(skill, []) if r["credit"] < 1.0][:shown]
        out[skill] = SkillGuidance(exemplars=tuple((e["question"], e["answer"]) for e in exemplars.get(skill, [])),
                                   mistakes=tuple((r["question"], r["answer"], r["gold"]) for r in mistakes))
    return out


def refine(exemplars: SkillRecords, task: Task, drafts: Sequence[TrainingExample], scores: Sequence[float],
           chosen: Sequence[bool], size: int) -> SkillRecords:
    """Next round's exemplars: per skill the ``size`` best-scored selected drafts (ties: draft order); a skill
    without a selected draft keeps ``exemplars``."""
    best: dict[str, list[int]] = {}
    for i in sorted((i for i, c in enumerate(chosen) if c), key=lambda i: (-scores[i], i)):
        best.setdefault(drafts[i].example.skill, []).append(i)
    refined = {skill: list(records) for skill, records in exemplars.items()}
    for skill, index in best.items():
        refined[skill] = [{"question": task.teacher_view(drafts[i].example), "answer": drafts[i].completion,
                           "score": float(scores[i])} for i in index[:size]]
    return dict(sorted(refined.items()))
