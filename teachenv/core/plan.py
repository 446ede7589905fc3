"""The data-generation plan: the typed ``Plan`` record and the small text grammar engines read.

The open-ended environment's action is a free-form plan. Engines that need structure (the
procedural engine of a generated world) read it with ``parse_plan``; LLM engines use the text
itself as their prompt. The grammar, one of:

- lines (or ``;``-separated parts) ``<skill>: <count> [key=value ...]``, e.g.::

      add-carry: 12 carries=2
      mul: 6
      # anything else on a line of its own (prose, a line starting with '#') is a note

- a JSON object ``{"<skill>": <count>, ...}`` or
  ``{"requests": [{"skill": ..., "count": ..., "params": {...}}], "notes": "..."}``.

A plan naming an unknown skill, asking for no examples, or holding no request line raises
``PlanError`` with what was wrong; the environment records it as a no-op round. This module knows
the task's skill names only as the list it is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pydantic import Field, ValidationError

from teachenv.core.errors import TeachEnvError
from teachenv.core.records import Record, SkillRequest

#: The skill of a request an LLM engine fills from a free-form plan (the teacher picks each example's skill).
ANY_SKILL = "*"

_LINE = re.compile(r"^\s*([A-Za-z0-9_][\w./-]*)\s*:\s*(\d+)((?:\s+[\w.-]+=\S+)*)\s*$")
_PARAM = re.compile(r"([\w.-]+)=(\S+)")

GRAMMAR_HINT = ("write one line per skill as '<skill>: <count> [key=value ...]' (e.g. 'add-carry: 12'), or a JSON "
                'object {"<skill>": <count>, ...}')


class PlanError(TeachEnvError, ValueError):
    """A plan the engine cannot use; the message says why."""


class Plan(Record):
    """A plan in typed form: examples per skill (with generator parameters) and free notes."""

    requests: tuple[SkillRequest, ...] = ()
    notes: str = Field("", description="Free text for engines that read prose (an LLM engine's prompt).")

    def to_text(self) -> str:
        """The plan in the line grammar (``parse_plan`` reads it back to an equal plan)."""
        lines = []
        for request in self.requests:
            params = "".join(f" {k}={_value_text(v)}" for k, v in sorted(request.params.items()))
            lines.append(f"{request.skill}: {request.count}{params}")
        lines.extend(f"# {line}" if line.strip() else "#" for line in self.notes.splitlines())
        return "\n".join(lines)


def parse_plan(text: str, skills: Sequence[str]) -> Plan:
    """Read ``text`` as a plan over ``skills``; ``PlanError`` says why it cannot be used."""
    if not text.strip():
        raise PlanError(f"the plan is empty: {GRAMMAR_HINT}")
    stripped = text.strip()
    plan = _parse_json(stripped) if stripped.startswith("{") else _parse_lines(text)
    unknown = sorted({r.skill for r in plan.requests} - set(skills))
    if unknown:
        raise PlanError(f"the plan names unknown skill(s) {unknown}; the skills are {list(skills)}")
    requests = tuple(r for r in plan.requests if r.count > 0)
    if not requests:
        raise PlanError(f"the plan asks for no examples: {GRAMMAR_HINT}")
    return plan.model_copy(update={"requests": requests})


def _parse_lines(text: str) -> Plan:
    requests: list[SkillRequest] = []
    notes: list[str] = []
    for part in re.split(r"[\n;]", text):
        if not part.strip():
            continue
        match = _LINE.match(part)
        if match is None:
            notes.append(part.strip().removeprefix("#").strip())
            continue
        params = {k: _value(v) for k, v in _PARAM.findall(match.group(3))}
        requests.append(SkillRequest(skill=match.group(1), count=int(match.group(2)), params=params))
    if not requests:
        example = f" ({notes[0][:80]!r} is not one)" if notes else ""  # a plan of only ';' has no line
        raise PlanError(f"no line of the plan asks for examples{example}: {GRAMMAR_HINT}")
    return Plan(requests=tuple(requests), notes="\n".join(notes))


def _parse_json(text: str) -> Plan:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"the plan starts like JSON but does not parse ({exc.msg} at char {exc.pos})") from None
    if not isinstance(data, dict):
        raise PlanError(f"a JSON plan must be an object: {GRAMMAR_HINT}")
    try:
        if "requests" in data:
            return Plan.model_validate({"requests": data["requests"], "notes": str(data.get("notes", ""))})
        return Plan(requests=tuple(SkillRequest(skill=str(k), count=v) for k, v in data.items()))
    except (ValidationError, TypeError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise PlanError(f"the JSON plan is malformed ({first}): {GRAMMAR_HINT}") from None


def _value(text: str) -> int | float | str | bool:
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _value_text(value: int | float | str | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
