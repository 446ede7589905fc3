"""The scripted teacher's replies in the open-ended and skill-tree structures.

Functions of the prompt text (and, for examples, the task's generator), dispatched from
``ScriptedTeacher.reply`` by the request's schema name. The protocol, which the LLM policy's and
the LLM engine's prompts follow:

- ``data_plan``: the lines ``Round R of N; up to C examples per round.``, ``Skills: a, b, ...`` and
  error lines ``- [<skill>] question: ...``. Reply ``{"plan": ..., "rationale": ...}``: a plan in the
  line grammar giving half of C to the skills with errors (by their share of the errors) and half
  replaying the others.
- ``planned_examples``: the plan as lines ``> ...`` and ``Number of examples: n``. Reply
  ``{"examples": [{"skill", "question", "answer"}]}``: the plan's counts (scaled to n) read with the
  plan grammar, or n spread over every skill when the plan is prose.
- ``skill_tree_action``: the round line, skill rows ``<skill> | <acc> | <trained> | <k> (can explore
  <u> more)`` and subskill rows ``  - <name> | val <acc> on <n> | allocation <a> | examples <e>``.
  Reply ``{"decisions": ...}``: on even rounds every skill that can explores one subskill, splitting
  its share evenly; on odd rounds each skill's share goes to its subskills weighted toward the weakest.
- ``subskills``: lines ``Skill: <s>``, ``Number of subskills: k`` and existing ones as ``- <name>``.
  Reply ``{"subskills": [{"name", "description"}]}`` with k new generic names.

It knows nothing about HTTP or about imperfections (the brain cuts replies).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from teachenv.core.apportion import apportion
from teachenv.core.plan import PlanError, parse_plan
from teachenv.tasks.base import GeneratedTask

_ROUND = re.compile(r"Round (\d+) of \d+; up to (\d+) examples per round")
_SKILLS = re.compile(r"^Skills: (.+)$", re.MULTILINE)
_ERROR = re.compile(r"^- \[([^\]]+)\] question:", re.MULTILINE)
_COUNT = re.compile(r"^\s*Number of (?:examples|subskills):\s*(\d+)", re.MULTILINE)
_SKILL = re.compile(r"^\s*Skill:\s*(.+?)\s*$", re.MULTILINE)
_NODE = re.compile(r"^(\S+) \| ([\d.]+) \| \d+ \| \d+ \(can explore (\d+) more\)$", re.MULTILINE)
_SUB = re.compile(r"^  - (.+?) \| val (?:([\d.]+) on \d+|unknown) \| allocation \d+", re.MULTILINE)


def split(total: int, weights: list[float]) -> list[int]:
    return [int(c) for c in apportion(total, weights)]


def data_plan(prompt: str) -> dict[str, Any]:
    round_match, skills_match = _ROUND.search(prompt), _SKILLS.search(prompt)
    budget = int(round_match.group(2)) if round_match else 0
    skills = [s.strip() for s in skills_match.group(1).split(",")] if skills_match else []
    errors = Counter(s for s in _ERROR.findall(prompt) if s in skills)
    weak = [s for s in skills if errors[s]] or skills
    others = [s for s in skills if s not in weak]
    replay = budget // 2 if others else 0
    counts = dict(zip(weak, split(budget - replay, [errors[s] or 1 for s in weak])))
    counts.update(zip(others, split(replay, [1] * len(others))))
    lines = [f"{s}: {counts[s]}" for s in skills if counts.get(s)]
    return {"plan": "\n".join([*lines, "# half for the skills with errors, half replaying the others"]),
            "rationale": f"{sum(errors.values())} errors shown, most in {errors.most_common(1)[0][0] if errors else 'none'}."}


def planned_examples(task: GeneratedTask, prompt: str, rng: np.random.Generator) -> dict[str, Any]:
    count_match = _COUNT.search(prompt)
    total = int(count_match.group(1)) if count_match else 0
    plan = "\n".join(line[2:] for line in prompt.splitlines() if line.startswith("> "))
    try:
        requests = parse_plan(plan, task.skills).requests
        skills, weights = [r.skill for r in requests], [float(r.count) for r in requests]
    except PlanError:
        skills, weights = list(task.skills), [1.0] * len(task.skills)
    examples = []
    for skill, n in zip(skills, split(total, weights)):
        for made in task.generate(skill, n, rng):
            examples.append({"skill": skill, "question": task.teacher_view(made.example), "answer": made.example.answer})
    return {"examples": examples}


def skill_tree_action(prompt: str) -> dict[str, Any]:
    round_match = _ROUND.search(prompt)
    round_index, budget = (int(round_match.group(1)), int(round_match.group(2))) if round_match else (0, 0)
    limit = re.search(r"one allocation is at most (\d+)", prompt)
    cap = int(limit.group(1)) if limit else budget
    nodes = list(_NODE.finditer(prompt))
    shares = split(budget, [1.0] * len(nodes))
    decisions = {}
    for i, (node, share) in enumerate(zip(nodes, shares)):
        block = prompt[node.end(): nodes[i + 1].start() if i + 1 < len(nodes) else len(prompt)]
        subs = [(m.group(1), float(m.group(2)) if m.group(2) else float(node.group(2))) for m in _SUB.finditer(block)]
        if round_index % 2 == 0 and int(node.group(3)) > 0 or not subs:
            if int(node.group(3)) == 0:
                continue
            each = split(share, [1.0] * (len(subs) + 1))
            decisions[node.group(1)] = {"explore": 1, "explore_allocation": min(each[-1], cap),
                                        "allocation": {name: min(c, cap) for (name, _), c in zip(subs, each)}}
        else:
            counts = split(share, [1.0 - acc + 0.1 for _, acc in subs])
            decisions[node.group(1)] = {"explore": 0, "allocation": {name: min(c, cap) for (name, _), c in zip(subs, counts)}}
    return {"decisions": decisions, "rationale": "explore on even rounds, exploit the weakest subskills on odd ones"}


def subskills(prompt: str) -> dict[str, Any]:
    skill_match, count_match = _SKILL.search(prompt), _COUNT.search(prompt)
    skill = skill_match.group(1) if skill_match else "skill"
    k = int(count_match.group(1)) if count_match else 0
    taken = {line[2:].strip() for line in prompt.splitlines() if line.startswith("- ")}
    names = (f"{skill} case {i}" for i in range(1, 1000))
    fresh = [n for n in names if n not in taken][:k]
    return {"subskills": [{"name": n, "description": f"one narrower kind of {skill} question"} for n in fresh]}
