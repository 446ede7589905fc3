"""Answer an evaluation split through a text backend and grade it per skill with the task.

Shared by the student's ``evaluate`` and the tiny student's build report. It knows the backend
interface and the task's ``prompt`` / ``score``, nothing about training.
"""

from __future__ import annotations

from collections.abc import Sequence

from teachenv.core.records import EvalReport, GradedPrediction, SkillReport, TaskExample
from teachenv.engines.base import GenerationRequest, TextBackend
from teachenv.tasks.base import EvalSplit, Task


def grade_split(backend: TextBackend, task: Task, split: EvalSplit, examples: Sequence[TaskExample],
                max_new_tokens: int) -> tuple[EvalReport, list[GradedPrediction]]:
    """Greedy answers to ``examples``, graded by ``task.credit_many``; one SkillReport per ``task.skills``."""
    prompts = [task.prompt(e) for e in examples]
    results = backend.generate([GenerationRequest(prompt=p, max_new_tokens=max_new_tokens, image=e.image)
                                for e, p in zip(examples, prompts, strict=True)])
    predictions = []
    credits = task.credit_many(examples, [r.text for r in results])
    for example, prompt, result, credit in zip(examples, prompts, results, credits, strict=True):
        predictions.append(GradedPrediction(example_id=example.id, skill=example.skill, prompt=prompt,
                                            completion=result.text, answer=example.answer,
                                            correct=credit >= 1.0, credit=credit))
    reports = []
    for skill in task.skills:
        graded = [p for p in predictions if p.skill == skill]
        reports.append(SkillReport(skill=skill, n=len(graded), correct=sum(p.credit for p in graded)))
    return EvalReport(split=split, skills=tuple(reports)), predictions

