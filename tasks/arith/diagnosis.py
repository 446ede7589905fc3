"""What a teacher can read off one arithmetic answer: the subskill a question exercises (from the question
text alone) and what kind of slip the student's answer shows against the gold answer.

``diagnose`` sees only the question, the student's answer and the gold answer — never the example's stored
parameters — so a labeller built on it can be checked against those parameters. It knows the world's
prompt format and its subskill axes (``world.SUBSKILL_KEYS``), not students or agents.
"""

from __future__ import annotations

from dataclasses import dataclass

from teachenv.tasks.arith.world import SUBSKILL_KEYS, Problem, parse_prompt, skill_of


@dataclass(frozen=True)
class Diagnosis:
    """The missing skill and subskill of one wrong answer, and the slip it shows."""

    skill: str
    #: The subskill axis and its value (``{"carries": 2}``), as ``generate`` takes it.
    params: dict
    #: ``no-answer``, ``dropped-carry`` / ``dropped-borrow`` (the answer is the column-wise result without
    #: them), ``off-by-digit`` (one digit wrong), or ``wrong``.
    slip: str


def _column_wise(op: str, a: int, b: int) -> int | None:
    """``a op b`` computed column by column with every carry / borrow forgotten (a classic slip)."""
    if op not in "+-":
        return None
    digits, place = 0, 1
    while a or b:
        x, y = a % 10, b % 10
        digits += ((x + y) % 10 if op == "+" else (x - y) % 10) * place
        a, b, place = a // 10, b // 10, place * 10
    return digits


def _slip(op: str, a: int, b: int, answer: str, gold: str) -> str:
    answer = answer.strip().split("\n", 1)[0].strip()
    if not answer.lstrip("-").isdigit():
        return "no-answer"
    if op in "+-" and int(answer) == _column_wise(op, a, b):
        return "dropped-carry" if op == "+" else "dropped-borrow"
    if len(answer) == len(gold) and sum(x != y for x, y in zip(answer, gold)) == 1:
        return "off-by-digit"
    return "wrong"


def diagnose(question: str, answer: str, gold: str) -> Diagnosis | None:
    """The diagnosis of the student's ``answer`` to ``question`` (gold ``gold``); None if the question is not
    one of the world's."""
    parsed = parse_prompt(question)
    if parsed is None:
        return None
    op, a, b = parsed
    problem = Problem(skill_of(op, a, b), a, b)
    params = {key: problem.params[key] for key in SUBSKILL_KEYS[problem.skill]}
    return Diagnosis(problem.skill, params, _slip(op, a, b, answer, gold.strip()))
