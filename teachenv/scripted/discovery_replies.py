"""The scripted teacher's replies to LLM skill discovery (``teachenv.skills.llm_discovery``).

Pure functions, prompt text → reply payload, dispatched from ``ScriptedTeacher.reply`` by the
request's schema name. The protocol:

- ``skill_labels``: the questions as numbered lines ``1. <question>``, ``2. <question>``, … (the
  first run of lines numbered from 1 counts, so the quoted reply of a repair request is not read as
  a question). Reply ``{"labels": [...]}``, one per question: the question with every run of digits
  replaced by ``N`` and whitespace collapsed, cut to its first ``LABEL_WORDS`` words
  (``"12+34="`` → ``"N+N="``) — generic, so it works for any task, and deterministic.
- ``skill_categories``: a line containing ``at most <K> categories`` and the labels as numbered lines
  ``1. <label> (<n> questions)``. Reply ``{"categories": [{"name", "labels"}]}``: the distinct labels
  sorted and dealt into at most K contiguous groups of nearly equal size, each named after its first
  label.

It knows nothing about HTTP, about imperfections (the brain cuts replies) or about any task.
"""

from __future__ import annotations

import re
from typing import Any

#: Words of a question kept in its scripted label.
LABEL_WORDS = 6

_NUMBERED = re.compile(r"^\s*(\d+)\.\s(.*?)\s*$")
_LABEL_LINE = re.compile(r"^(.*?)\s*\((\d+) questions?\)$")
_LIMIT = re.compile(r"at most (\d+) categor", re.IGNORECASE)


def numbered_lines(prompt: str) -> list[str]:
    """The texts of the first run of lines numbered 1, 2, 3, … in ``prompt``."""
    items: list[str] = []
    for line in prompt.splitlines():
        match = _NUMBERED.match(line)
        if match and int(match.group(1)) == len(items) + 1:
            items.append(match.group(2))
        elif items:
            break
    return items


def generic_label(question: str) -> str:
    """``question`` with digit runs as ``N``, whitespace collapsed, cut to ``LABEL_WORDS`` words."""
    return " ".join(re.sub(r"\d+", "N", question).split()[:LABEL_WORDS])


def skill_labels(prompt: str) -> dict[str, Any]:
    return {"labels": [generic_label(q) for q in numbered_lines(prompt)]}


def skill_categories(prompt: str) -> dict[str, Any]:
    labels = []
    for item in numbered_lines(prompt):
        match = _LABEL_LINE.match(item)
        labels.append(match.group(1) if match else item)
    labels = sorted(set(labels))
    limit_match = _LIMIT.search(prompt)
    limit = max(1, int(limit_match.group(1))) if limit_match else 1
    groups = min(limit, len(labels))
    categories = []
    for g in range(groups):  # contiguous slices of the sorted labels, sizes differing by at most one
        members = labels[g * len(labels) // groups:(g + 1) * len(labels) // groups]
        categories.append({"name": members[0], "labels": members})
    return {"categories": categories}


#: The reply function of each request kind (the schema name ``llm_discovery`` sends).
REPLIES = {"skill_labels": skill_labels, "skill_categories": skill_categories}
