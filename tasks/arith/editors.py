"""The arith world's suggester / editor pair: make a problem harder through the world's own parameters.

- ``suggest``: the harder settings of a problem's subskill axis (more carries, more borrows, a larger
  multiplier, operands sharing their leading digit, fewer zeros), nearest first, taken only from the settings
  the world itself makes (``GeneratedTask.subskill_params``) — never harder by leaving the world's range
  (the operands keep the world's number of digits).
- ``edit``: the smallest change of the problem's operand digits (one digit, then two) that gives it the
  suggested setting while it stays a problem of the same skill on the training side (not a held-out item).

It knows the world's problems (``world``), not engines or agents.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from teachenv.tasks.arith.world import SUBSKILL_KEYS, Problem, belongs_to, parse_prompt, skill_of

#: Which way each skill's axis gets harder.
HARDER: dict[str, int] = {"add": -1, "add-carry": +1, "sub": +1, "mul": +1, "max": +1}


def problem_of(question: str) -> Problem | None:
    parsed = parse_prompt(question)
    if parsed is None:
        return None
    op, a, b = parsed
    return Problem(skill_of(op, a, b), a, b)


def suggest(question: str, settings: list[dict]) -> list[dict]:
    """Harder settings than ``question``'s among ``settings`` (the world's own), nearest first; [] if none."""
    problem = problem_of(question)
    if problem is None:
        return []
    (key,) = SUBSKILL_KEYS[problem.skill]
    now, way = problem.params[key], HARDER[problem.skill]
    harder = [s for s in settings if key in s and (s[key] - now) * way > 0]
    return sorted(harder, key=lambda s: abs(s[key] - now))


def _variants(value: int, digits: int, changes: int) -> list[int]:
    """``value`` with ``changes`` of its ``digits`` digits replaced (every way), keeping the digit count."""
    text = str(value).zfill(digits)
    found = []
    for places in product(range(digits), repeat=changes):
        if len(set(places)) < changes or list(places) != sorted(places):
            continue
        for replacement in product("0123456789", repeat=changes):
            chars = list(text)
            for place, char in zip(places, replacement):
                chars[place] = char
            found.append(int("".join(chars)))
    return found


def edit(question: str, target: dict, digits: int, holdout: float, rng: np.random.Generator) -> str | None:
    """``question`` with the fewest operand digits changed so that it has the ``target`` setting, stays a
    ``digits``-digit problem of its skill and is a training item; None if two changes cannot do it."""
    problem = problem_of(question)
    if problem is None:
        return None
    for changes in (1, 2):
        found = []
        for operand in ("a", "b"):
            for value in _variants(getattr(problem, operand), len(str(getattr(problem, operand))), changes):
                a, b = (value, problem.b) if operand == "a" else (problem.a, value)
                if not belongs_to(problem.skill, a, b, digits):
                    continue
                edited = Problem(problem.skill, a, b)
                if all(edited.params.get(k) == v for k, v in target.items()) and edited.split(holdout) == "train":
                    found.append(edited.prompt)
        if found:
            return found[int(rng.integers(len(found)))]
    return None
