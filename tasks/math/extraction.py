"""Finding the final answer in a math completion, and reading a plain number in canonical form.

Pure string handling (no sympy, no math-verify): it owns *where* the answer is in a completion
full of intermediate numbers and *which spellings* of a number are the same number. It does not
know whether two non-numeric answers (``\\frac{\\sqrt{2}}{2}``, ``x+1``) are equivalent; that is
``grading.py``'s job, through math-verify in worker processes.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

# -- \boxed{...} ----------------------------------------------------------------------------------

_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)\b")
# `\boxed 5`: the argument of a command written without braces is one token.
_BARE_ARGUMENT = re.compile(r"\s+([^\s$]+)")


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (braces balanced), or ``\\boxed 5``.

    ``None`` when there is no box or the last one is never closed (a truncated completion).
    """
    for command in reversed(list(_BOX_COMMAND.finditer(text))):
        start = command.end()
        if start < len(text) and text[start] == "{":
            content = _braced(text, start)
            if content is not None:
                return content
        else:
            bare = _BARE_ARGUMENT.match(text, start)
            if bare:
                return bare.group(1)
    return None


def _braced(text: str, open_at: int) -> str | None:
    """The text between the ``{`` at ``open_at`` and its matching ``}`` (``\\{`` does not count)."""
    depth = 0
    i = open_at
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2  # an escaped character, e.g. the set braces \{ \}
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i]
        i += 1
    return None


# -- GSM8K ----------------------------------------------------------------------------------------


def gsm8k_gold(solution: str) -> str | None:
    """The gold answer of a GSM8K worked solution: the text after its last ``####``, stripped."""
    _, marker, answer = solution.rpartition("####")
    answer = answer.strip()
    return answer if marker and answer else None


# -- the final answer of a completion -------------------------------------------------------------

# "The answer is", "the final answer is:", "Final Answer:", "**Answer:**", "answer is" ...
_ANSWER_PHRASE = re.compile(r"(?:\bfinal\s+)?\banswer\s*(?:\*\*)?\s*(?:is\b\s*:?|:)", re.IGNORECASE)
# A sentence ends at . ! ? followed by a space or the end; a decimal point is followed by a digit.
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
# Numbers as they are written in prose: 1,800.50  -3  .5  3/4 (a minus only when not a subtraction
# written without spaces, like 36-8), and the one-term expressions a final answer can be: a power
# (10^6, 2^{10}), a LaTeX fraction (\frac{3}{4}) or square root (\sqrt{2}). Read as one match, so
# that the last "number" of "10^6" is 10^6, not the exponent 6.
_EXPONENT = r"(?:\^\s*(?:\{\s*-?\d+(?:\.\d+)?\s*\}|-?\d+(?:\.\d+)?))"
_NUMBER = re.compile(
    r"(?<![\w.)/^])-?(?:"
    r"\\[dt]?frac\s*\{\s*-?\d+\s*\}\s*\{\s*\d+\s*\}"
    r"|\\sqrt\s*\{\s*\d+(?:\.\d+)?\s*\}"
    r"|(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:" + _EXPONENT + r"|/\d+(?![\d.]))?"
    r")"
)


def final_answer(completion: str) -> str | None:
    """The final answer of a completion, as written (``None`` if it has none).

    In order of precedence: the last ``\\boxed{}``; else the text after the last ``####`` (to the
    end of its line); else what the last "the (final) answer is" / "final answer:" / "answer:"
    introduces, up to the end of its line or sentence; else the last number in the text, where a
    power (``10^6``, ``2^{10}``), a fraction (``3/4``, ``\\frac{3}{4}``) or a square root counts as
    one number (so a bare final ``10^6`` after working is ``10^6``, not ``6``, and ``x = -7`` is
    ``-7``). Wrapping ``$``, ``**`` and a trailing period are stripped.

    A hedged answer is returned as written: "the answer is probably 12, or maybe 13." gives
    ``"probably 12, or maybe 13"``, which is not a number and not equivalent to 12 or 13, so a
    hedge grades as wrong rather than as whichever candidate the grader happens to pick.
    """
    boxed = last_boxed(completion)
    if boxed is not None and boxed.strip():
        return _clean(boxed)
    _, marker, after = completion.rpartition("####")
    if marker:
        answer = _clean(after.strip().split("\n", 1)[0])
        if answer:
            return answer
    phrases = list(_ANSWER_PHRASE.finditer(completion))
    if phrases:
        span = completion[phrases[-1].end() :].lstrip().split("\n", 1)[0]
        end = _SENTENCE_END.search(span)
        answer = _clean(span[: end.start()] if end else span)
        if answer:
            return answer
    numbers = _NUMBER.findall(completion)
    return numbers[-1] if numbers else None


def _clean(answer: str) -> str:
    """Strip surrounding whitespace, ``**`` (markdown bold), ``$`` (not ``\\$``) and a final period."""
    previous = None
    while previous != answer:
        previous = answer
        answer = answer.strip().removeprefix("**").removesuffix("**").strip()
        if answer.endswith(".") and not answer.endswith("\\."):
            answer = answer[:-1]
        answer = answer.lstrip("$")
        if answer.endswith("$") and not answer.endswith("\\$"):
            answer = answer[:-1]
    return answer


# -- numbers in canonical form --------------------------------------------------------------------

# Thousands separators: 1,800 and LaTeX's 1{,}800 and 1\,800 (math-verify misreads the last two).
_THOUSANDS = re.compile(r",|\{,\}|\\,")
_PLAIN_NUMBER = r"(?:\d{1,3}(?:(?:,|\{,\}|\\,)\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)"
_NUMERIC = re.compile(
    r"""
    (?P<sign>[-+]?)\s*
    (?:\\\$|\$|€|£)?\s*                          # a currency sign, escaped or not
    (?P<sign2>[-+]?)\s*
    (?:
        (?P<number>""" + _PLAIN_NUMBER + r""")
        (?:\s*/\s*(?P<denominator>\d+))?           # 3/4
      | \\[dt]?frac\{(?P<fnum>-?\d+)\}\{(?P<fden>\d+)\}   # \frac{3}{4}
    )
    \s*(?:\\?%)?                                   # 50% and 50\% read as 50 (see normalize_number)
    (?P<unit>.*)
    """,
    re.VERBOSE | re.DOTALL,
)
# Units after the number: words ("dollars", "cm per hour") or \text{...} / \mathrm{...}, no digits.
_UNIT = re.compile(r"(?:\s*(?:\\(?:text|mathrm|mbox)\{[^{}\d]*\}|[A-Za-z][A-Za-z'/.-]*))*\s*")
# Words that make the text an expression (2 pi, 3 sqrt 2), not a number with a unit.
_NOT_UNITS = frozenset({"pi", "sqrt", "i", "e", "x", "y", "z", "n", "k", "times", "plus", "minus", "over"})


def normalize_number(text: str) -> str | None:
    """A numeric answer in canonical form (``"18"``, ``"1800"``, ``"-3.5"``), or ``None``.

    Tolerates formatting: surrounding ``$``/``**``/whitespace and a final period, a currency sign
    (``$18.00``, ``\\$18``), thousands separators (``1,800``, ``1{,}800``, ``1\\,800``), trailing
    zeros (``18.00``, ``18.``), a leading ``+``, and trailing unit words or ``\\text{...}``
    (``18 dollars``, ``5\\text{ cm}``).

    Decisions:
    - A percent sign is dropped (``50%`` -> ``"50"``): GSM8K golds are plain numbers, also for
      "what percent..." questions, so ``50%`` matches a gold ``50`` (and not ``0.5``).
    - A fraction of integers (``3/4``, ``\\frac{3}{4}``) is returned as its decimal (``"0.75"``)
      only when that decimal terminates; ``1/3`` gives ``None`` and is left to math-verify.
    - Anything else (``x+1``, ``2 pi``, ``12 or 13``, ``1.5e3``) is not a single number: ``None``.
    """
    match = _NUMERIC.fullmatch(_clean(text))
    if match is None or not _is_unit(match["unit"]):
        return None
    negative = (match["sign"] == "-") != (match["sign2"] == "-")
    if match["number"] is not None:
        value = Decimal(_THOUSANDS.sub("", match["number"]))  # the regex admits only decimals
        if match["denominator"] is not None:
            value = _terminating(Fraction(value), int(match["denominator"]))
    else:
        value = _terminating(Fraction(int(match["fnum"])), int(match["fden"]))
    if value is None:
        return None
    return _canonical(-value if negative else value)


def _is_unit(rest: str) -> bool:
    if not _UNIT.fullmatch(rest):
        return False
    words = re.findall(r"[A-Za-z]+", re.sub(r"\\(?:text|mathrm|mbox)", " ", rest))
    return not any(word.lower() in _NOT_UNITS for word in words)


def _terminating(numerator: Fraction, denominator: int) -> Decimal | None:
    """The quotient as an exact Decimal, or ``None`` if it is undefined or does not terminate."""
    if denominator == 0:
        return None
    fraction = numerator / denominator
    denominator = fraction.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator != 1:
        return None
    return Decimal(fraction.numerator) / Decimal(fraction.denominator)


def _canonical(value: Decimal) -> str:
    """``Decimal("1800.50")`` -> ``"1800.5"``, ``Decimal("18.00")`` -> ``"18"``, never an exponent."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
