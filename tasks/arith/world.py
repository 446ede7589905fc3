"""Problems of the arithmetic world: skills, their parameters, and the held-out split.

A problem is a skill and two operands. Each skill has parameters (digits, and per skill one finer
axis: zeros / carries / borrows / multiplier / same_lead) from which subskills are formed. Whether an operand pair belongs to the validation or test
split is decided by a hash of (skill, a, b) — never by a linear rule on the digits, which would
hold out, say, every sum ending in one digit.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from teachenv.core.hashing import stable_fraction

SKILLS: tuple[str, ...] = ("add", "add-carry", "sub", "mul", "max")
#: The parameter that splits each skill into subskills.
SUBSKILL_KEYS: dict[str, tuple[str, ...]] = {
    "add": ("zeros",), "add-carry": ("carries",), "sub": ("borrows",), "mul": ("multiplier",), "max": ("same_lead",),
}

_PATTERNS = {
    "+": re.compile(r"^(\d+)\+(\d+)=$", re.ASCII),
    "-": re.compile(r"^(\d+)-(\d+)=$", re.ASCII),
    "*": re.compile(r"^(\d+)\*(\d+)=$", re.ASCII),
    "max": re.compile(r"^max\((\d+),(\d+)\)=$", re.ASCII),
}


def _carries(a: int, b: int) -> int:
    count, carry = 0, 0
    while a or b:
        carry = 1 if a % 10 + b % 10 + carry >= 10 else 0
        count += carry
        a, b = a // 10, b // 10
    return count


def _borrows(a: int, b: int) -> int:
    count, borrow = 0, 0
    while a or b:
        borrow = 1 if a % 10 - b % 10 - borrow < 0 else 0
        count += borrow
        a, b = a // 10, b // 10
    return count


@dataclass(frozen=True)
class Problem:
    skill: str
    a: int
    b: int

    @property
    def prompt(self) -> str:
        if self.skill in ("add", "add-carry"):
            return f"{self.a}+{self.b}="
        if self.skill == "sub":
            return f"{self.a}-{self.b}="
        if self.skill == "mul":
            return f"{self.a}*{self.b}="
        return f"max({self.a},{self.b})="

    @property
    def answer(self) -> str:
        if self.skill in ("add", "add-carry"):
            return str(self.a + self.b)
        if self.skill == "sub":
            return str(self.a - self.b)
        if self.skill == "mul":
            return str(self.a * self.b)
        return str(max(self.a, self.b))

    @property
    def params(self) -> dict[str, int]:
        """Subskill parameters: operand digits, and the skill's own axis (``SUBSKILL_KEYS``)."""
        params = {"digits": len(str(self.a))}
        if self.skill in ("add", "add-carry"):
            params["carries"] = _carries(self.a, self.b)
        if self.skill == "add":
            params["zeros"] = f"{self.a}{self.b}".count("0")
        elif self.skill == "sub":
            params["borrows"] = _borrows(self.a, self.b)
        elif self.skill == "mul":
            params["multiplier"] = self.b
        elif self.skill == "max":
            params["same_lead"] = int(str(self.a)[0] == str(self.b)[0])
        return params

    def split(self, holdout: float) -> str:
        """'val', 'test' or 'train', by a hash of the problem (``holdout`` = share of each eval split)."""
        u = stable_fraction("arith", self.skill, self.a, self.b)
        return "val" if u < holdout else "test" if u < 2 * holdout else "train"


def belongs_to(skill: str, a: int, b: int, digits: int) -> bool:
    """Whether operands (a, b) form a valid problem of ``skill`` with ``digits``-digit operands."""
    low, high = 10 ** (digits - 1) if digits > 1 else 0, 10**digits - 1
    if not low <= a <= high:
        return False
    if skill == "mul":
        return 2 <= b <= 9
    if not low <= b <= high:
        return False
    if skill == "add":
        return _carries(a, b) == 0
    if skill == "add-carry":
        return _carries(a, b) > 0
    if skill == "sub":
        return a >= b
    return skill == "max"


#: Operand pairs a skill may have before ``train_pool_size`` stops counting them one by one (4-digit worlds).
MAX_COUNTED_PAIRS = 1_000_000


@functools.cache
def train_pool_size(skill: str, digits: int, holdout: float) -> int | None:
    """How many distinct training problems ``skill`` has (its operand pairs outside the validation and test
    splits): what the procedural engine can ever make of it in one episode. None when the skill has more than
    ``MAX_COUNTED_PAIRS`` pairs (counting would take seconds; such a pool is never the limit of a round)."""
    low, high = 10 ** (digits - 1) if digits > 1 else 0, 10**digits
    seconds = range(2, 10) if skill == "mul" else range(low, high)
    if (high - low) * len(seconds) > MAX_COUNTED_PAIRS:
        return None
    return sum(belongs_to(skill, a, b, digits) and Problem(skill, a, b).split(holdout) == "train"
               for a in range(low, high) for b in seconds)


def sample_problem(skill: str, digits: int, rng: np.random.Generator, params: dict | None = None,
                   max_draws: int | None = None) -> Problem | None:
    """A uniformly random problem of ``skill`` whose ``params`` include the given ones (rejection sampling
    over operand pairs); None if ``max_draws`` draws found none (parameters no problem has)."""
    low, high = 10 ** (digits - 1) if digits > 1 else 0, 10**digits
    wanted = dict(params or {})
    draws = 0
    while max_draws is None or draws < max_draws:
        draws += 1
        a = int(rng.integers(low, high))
        b = int(rng.integers(2, 10)) if skill == "mul" else int(rng.integers(low, high))
        if belongs_to(skill, a, b, digits):
            problem = Problem(skill, a, b)
            if not wanted or all(problem.params.get(k) == v for k, v in wanted.items()):
                return problem
    return None


def parse_prompt(prompt: str) -> tuple[str, int, int] | None:
    """(operator, a, b) of a prompt in the world's format, or None if it is not one."""
    for op, pattern in _PATTERNS.items():
        match = pattern.match(prompt.strip())
        if match:
            return op, int(match.group(1)), int(match.group(2))
    return None


def skill_of(op: str, a: int, b: int) -> str:
    """The skill a parsed problem exercises (addition splits by whether it carries)."""
    if op == "+":
        return "add" if _carries(a, b) == 0 else "add-carry"
    return {"-": "sub", "*": "mul", "max": "max"}[op]
