"""The scripted teacher's replies to the STAT labeller and the AgentInstruct stages (``teachenv.agents.stat_labeller``,
``teachenv.agents.agent_instruct_llm``), dispatched from ``ScriptedTeacher.reply`` by the request's schema name:

- ``missing_skill``: lines ``- <label>`` (the choices), ``Student question: <q>``, ``Student answer: <a>``,
  ``Correct answer: <g>``. Reply ``{"missing_skill": <label>}``: on arith the question's subskill
  (``tasks.arith.diagnosis``), elsewhere the first choice; with probability ``wrong_rate`` another choice — the
  planted mistakes a comparison with the procedural labeller sees.
- ``content_transformation``: the seed material after a line ``Seed material:``; reply ``{"content": <it>}``.
- ``seed_instruction``: ``Skill: <skill>``; reply ``{"question", "answer"}`` from the world's generator (the
  answer wrong with probability ``wrong_rate``).
- ``refinement_suggestion``: ``Skill:`` and ``Seed question: <q>``; reply ``{"suggestion": "k=v"}``, the nearest
  harder setting of arith's own parameters (``tasks.arith.editors``), or ``"none"``.
- ``refined_instruction``: ``Seed question:`` and ``Suggestion: k=v``; reply the edited ``{"question", "answer"}``
  (the answer wrong with probability ``wrong_rate``: an edit that breaks validity, for verification to catch).

Pure functions of (task, prompt, rng); they know nothing about HTTP or the agents' code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from teachenv.tasks.base import GeneratedTask

_CHOICE = re.compile(r"^\s*-\s+(\S.*?)\s*$", re.MULTILINE)


def _line(prompt: str, name: str) -> str | None:
    match = re.search(rf"^\s*{re.escape(name)}:\s*(.*?)\s*$", prompt, re.MULTILINE)
    return match.group(1) if match else None


def _wrong(answer: str) -> str:
    return str(int(answer) + 1) if answer.lstrip("-").isdigit() else f"{answer} (roughly)"


def missing_skill(task: GeneratedTask, prompt: str, rng: np.random.Generator, wrong_rate: float) -> dict[str, Any]:
    choices = _CHOICE.findall(prompt)
    question = _line(prompt, "Student question") or ""
    label = choices[0] if choices else ""
    if task.name == "arith":
        from teachenv.tasks.arith.diagnosis import diagnose

        found = diagnose(question, _line(prompt, "Student answer") or "", _line(prompt, "Correct answer") or "")
        if found is not None:
            # the skill tree's subskill naming (``envs.subskills.subskill_name``, a layer above this one)
            label = f"{found.skill}/" + ",".join(f"{k}={v}" for k, v in found.params.items()) if found.params else found.skill
    if rng.random() < wrong_rate and len(choices) > 1:
        label = str(rng.choice([c for c in choices if c != label]))
    return {"missing_skill": label}


def content_transformation(task: GeneratedTask, prompt: str, rng: np.random.Generator, wrong_rate: float) -> dict[str, Any]:
    _, _, material = prompt.partition("Seed material:")
    return {"content": " ".join(material.split("\nReply")[0].split())[:1000]}


def seed_instruction(task: GeneratedTask, prompt: str, rng: np.random.Generator, wrong_rate: float) -> dict[str, Any]:
    skill = _line(prompt, "Skill") or ""
    made = task.generate(skill, 1, rng) if skill in task.skills else []
    if not made:
        return {"question": "", "answer": ""}
    answer = made[0].example.answer
    return {"question": task.teacher_view(made[0].example),
            "answer": _wrong(answer) if rng.random() < wrong_rate else answer}


def refinement_suggestion(task: GeneratedTask, prompt: str, rng: np.random.Generator, wrong_rate: float) -> dict[str, Any]:
    question, skill = _line(prompt, "Seed question") or "", _line(prompt, "Skill") or ""
    if task.name != "arith" or skill not in task.skills:
        return {"suggestion": "none"}
    from teachenv.tasks.arith.editors import suggest

    harder = suggest(question, task.subskill_params(skill))
    return {"suggestion": ",".join(f"{k}={v}" for k, v in harder[0].items()) if harder else "none"}


def refined_instruction(task: GeneratedTask, prompt: str, rng: np.random.Generator, wrong_rate: float) -> dict[str, Any]:
    question, suggestion = _line(prompt, "Seed question") or "", _line(prompt, "Suggestion") or ""
    target = {k: int(v) if v.isdigit() else v for k, _, v in (part.partition("=") for part in suggestion.split(",")) if k}
    edited = None
    if task.name == "arith" and target:
        from teachenv.tasks.arith.editors import edit

        edited = edit(question, target, task.config.digits, task.config.holdout, rng)
    edited = edited or question
    answer = task.solve(edited) or ""
    return {"question": edited, "answer": _wrong(answer) if rng.random() < wrong_rate else answer}


REPLIES: dict[str, Callable[[GeneratedTask, str, np.random.Generator, float], dict[str, Any]]] = {
    "missing_skill": missing_skill,
    "content_transformation": content_transformation,
    "seed_instruction": seed_instruction,
    "refinement_suggestion": refinement_suggestion,
    "refined_instruction": refined_instruction,
}
