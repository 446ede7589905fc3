"""Answer an evaluation split through a text backend and grade it per skill with the task: greedy
(``grade_split``, the environment's accuracy) or sampled n times for pass@k (``sample_completions``,
``pass_at_k_by_skill``).

Shared by the student's ``evaluate`` / ``pass_at_k`` and the tiny student's build report. It knows the backend
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


def sample_completions(backend: TextBackend, task: Task, examples: Sequence[TaskExample], n: int,
                       max_new_tokens: int, *, temperature: float = 0.8, top_p: float = 0.95,
                       seed: int = 0) -> list[list[str]]:
    """``n`` sampled completions per example (sample j of every example uses seed ``seed + j``)."""
    prompts = [task.prompt(e) for e in examples]
    requests = [GenerationRequest(prompt=p, max_new_tokens=max_new_tokens, image=e.image, temperature=temperature,
                                  top_p=top_p, seed=seed + j)
                for j in range(n) for e, p in zip(examples, prompts, strict=True)]
    texts = [r.text for r in backend.generate(requests)]
    return [[texts[j * len(examples) + i] for j in range(n)] for i in range(len(examples))]


def pass_at_k_by_skill(task: Task, examples: Sequence[TaskExample], samples: Sequence[Sequence[str]],
                       ks: Sequence[int]) -> dict[int, dict[str, float]]:
    """Per k, the mean unbiased pass@k of each skill's examples (a sample passes at full credit)."""
    from teachenv.core.metrics import pass_at_k

    credits = task.credit_many([e for e, s in zip(examples, samples, strict=True) for _ in s],
                               [c for s in samples for c in s])
    correct, start = [], 0
    for s in samples:
        correct.append(sum(1 for c in credits[start:start + len(s)] if c >= 1.0))
        start += len(s)
    report: dict[int, dict[str, float]] = {}
    for k in ks:
        by_skill: dict[str, list[float]] = {}
        for example, s, c in zip(examples, samples, correct, strict=True):
            by_skill.setdefault(example.skill, []).append(pass_at_k(len(s), c, k))
        report[k] = {skill: sum(v) / len(v) for skill, v in by_skill.items()}
    return report
