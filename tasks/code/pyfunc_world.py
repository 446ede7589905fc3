"""Problems of the ``pyfunc`` world: a one-line specification in a docstring → a Python function body.

Four families (the skills), each with parameters that make many distinct problems:

- ``arith``: one or two steps on an integer, "add 12, then multiply by 3" → ``return (x + 12) * 3``;
- ``cond``: a comparison, "7 if x is greater than 40, else x" → ``return 7 if x > 40 else x``;
- ``string``: an operation on a string, "s without its first 3 characters" → ``return s[3:]``;
- ``list``: an operation on a list of integers, "the elements of xs greater than 5" →
  ``return [v for v in xs if v > 5]``.

A problem is graded by *executing* the student's body on hidden inputs (any equivalent program
passes): its tests are asserts of the reference function's outputs, computed here by running the
reference code, which this module writes itself. Whether a problem is validation, test or training
is decided by a hash of (family, specification). It knows nothing about the sandbox or models.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from teachenv.core.hashing import stable_fraction

SKILLS: tuple[str, ...] = ("arith", "cond", "string", "list")
ARGUMENT = {"arith": "x", "cond": "x", "string": "s", "list": "xs"}
#: The hidden inputs of each family (informative: zero, negatives, empties, repeats, and long enough that no
#: specification reduces to the identity on all of them).
INPUTS: dict[str, tuple] = {
    "arith": (0, 1, 2, 5, -3, 17, 100),
    "cond": (0, 1, 5, 12, 39, 40, 41, 63, 99, -7),
    # Long enough for every slice a specification can ask for, and holding every letter.
    "string": ("", "a", "abc", "banana", "Teach Env", "the quick brown fox jumps over the lazy dog",
               "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF"),
    "list": ((), (1,), (3, 1, 2), (5, 5, -1, 7), (0, 9, 4, 9, 2, 11),
             (3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43, 38, 32, 79, 50, 28, 8, 41, 97, 1, 6, 10)),
}
LETTERS = string.ascii_lowercase


@dataclass(frozen=True)
class Problem:
    skill: str
    spec: str  # the docstring
    body: str  # the reference expression after ``return``

    @property
    def prompt(self) -> str:
        return f'def f({ARGUMENT[self.skill]}):\n    """{self.spec}"""\n'

    @property
    def completion(self) -> str:
        return f"    return {self.body}\n"

    def split(self, holdout: float) -> str:
        u = stable_fraction("pyfunc", self.skill, self.spec)
        return "val" if u < holdout else "test" if u < 2 * holdout else "train"

    def tests(self) -> tuple[str, ...]:
        """``assert f(<input>) == <reference output>`` for every hidden input (trusted: our own code)."""
        namespace: dict = {}
        exec(compile(self.prompt + self.completion, "<reference>", "exec"), namespace)  # noqa: S102 - our code
        reference = namespace["f"]
        asserts = []
        for value in INPUTS[self.skill]:
            argument = list(value) if self.skill == "list" else value
            asserts.append(f"assert f({argument!r}) == {reference(argument)!r}")
        return ("\n".join(asserts),)


def _arith_step(rng: np.random.Generator) -> tuple[str, str]:
    a = int(rng.integers(1, 100))
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return f"add {a}", f"+ {a}"
    if kind == 1:
        return f"subtract {a}", f"- {a}"
    a = int(rng.integers(2, 10))
    return f"multiply by {a}", f"* {a}"


def sample_problem(skill: str, rng: np.random.Generator) -> Problem:
    if skill == "arith":
        first_spec, first_op = _arith_step(rng)
        if rng.random() < 0.4:
            return Problem(skill, first_spec, f"x {first_op}")
        second_spec, second_op = _arith_step(rng)
        return Problem(skill, f"{first_spec}, then {second_spec}", f"(x {first_op}) {second_op}")
    if skill == "cond":
        a, b = int(rng.integers(0, 100)), int(rng.integers(0, 100))
        word, op = ("greater", ">") if rng.random() < 0.5 else ("less", "<")
        other = "x" if rng.random() < 0.5 else "0"
        return Problem(skill, f"{b} if x is {word} than {a}, else {other}", f"{b} if x {op} {a} else {other}")
    if skill == "string":
        return _string_problem(rng)
    return _list_problem(rng)


def _string_problem(rng: np.random.Generator) -> Problem:
    kind = int(rng.integers(0, 9))
    a = int(rng.integers(1, 31))
    c, d = (LETTERS[int(i)] for i in rng.choice(26, size=2, replace=False))
    options = [
        ("s reversed", "s[::-1]"), ("s in upper case", "s.upper()"),
        (f"the first {a} characters of s", f"s[:{a}]"), (f"the last {a} characters of s", f"s[-{a}:]"),
        (f"s without its first {a} characters", f"s[{a}:]"), (f"s repeated {a % 9 + 1} times", f"s * {a % 9 + 1}"),
        (f"s with '{c}' added at the end", f"s + '{c}'"), (f"s with every '{c}' replaced by '{d}'", f"s.replace('{c}', '{d}')"),
        (f"how many times '{c}' occurs in s", f"s.count('{c}')"),
    ]
    spec, body = options[kind]
    return Problem("string", spec, body)


def _list_problem(rng: np.random.Generator) -> Problem:
    kind = int(rng.integers(0, 13))
    a = int(rng.integers(5, 91))  # thresholds that split the hidden lists (none is the identity on all)
    present = INPUTS["list"][-1][a % len(INPUTS["list"][-1])]  # a value the long hidden list holds
    low, high = sorted(int(v) for v in rng.choice(31, size=2, replace=False))
    options = [
        (f"the elements of xs between {low} and {high}", f"[v for v in xs if {low} <= v <= {high}]"),
        (f"xs without the elements equal to {present}", f"[v for v in xs if v != {present}]"),
        (f"the first {a % 9 + 1} elements of xs", f"xs[:{a % 9 + 1}]"), ("xs reversed", "xs[::-1]"),
        ("the largest element of xs, or 0 if it is empty", "max(xs, default=0)"),
        ("the sum of xs", "sum(xs)"), ("the length of xs", "len(xs)"), ("xs sorted", "sorted(xs)"),
        (f"the elements of xs greater than {a}", f"[v for v in xs if v > {a}]"),
        (f"the elements of xs less than {a}", f"[v for v in xs if v < {a}]"),
        (f"xs with {a} added to every element", f"[v + {a} for v in xs]"),
        (f"xs with every element multiplied by {a % 9 + 2}", f"[v * {a % 9 + 2} for v in xs]"),
        (f"how many elements of xs equal {a % 12}", f"xs.count({a % 12})"),
    ]
    spec, body = options[kind]
    return Problem("list", spec, body)
