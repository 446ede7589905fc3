"""The job a ``VerifyPool`` worker runs for ``MathGrader``: math-verify equivalence of two answers.

Imported only inside worker processes (the parent never imports math-verify or sympy). It owns how
an answer string is handed to math-verify; it does not know where the answer came from (see
``extraction.py``) and has no timeout of its own: math-verify's signal-based timeouts are disabled
(they fail off the main thread) and the pool kills a worker that takes too long instead.
"""

from __future__ import annotations

import logging
import re

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

# math-verify warns once per process that its timeouts are off; here that is on purpose.
logging.getLogger("math_verify").setLevel(logging.ERROR)

_EXTRACTION = (LatexExtractionConfig(), ExprExtractionConfig())
# Math delimiters already present: the text is parsed as it is.
_DELIMITED = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed|\\fbox")
# LaTeX thousands separators, 1{,}450 and 1\,450: math-verify reads `n = 1{,}450` as n = {1, 450}
# and `1\,450` as 1 * 450.
_LATEX_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|\\,)(?=\d{3}(?!\d))")


def parse_answer(answer: str) -> list:
    """math-verify's parse of a bare answer (``\\frac{1}{2}``, ``0.5``, ``1/2``, ``\\sqrt{2}/2``).

    A bare answer is wrapped in ``$...$``: math-verify reads LaTeX (``\\sqrt``, ``\\frac``, sets,
    intervals) only between math delimiters, and without them ``(1, 2)`` would read as ``2``.
    Plain text that does not parse as LaTeX is parsed as it is. LaTeX thousands separators are
    removed first.
    """
    answer = _LATEX_THOUSANDS.sub("", answer)
    if not _DELIMITED.search(answer):
        parsed = parse(f"${answer}$", extraction_config=_EXTRACTION, parsing_timeout=None)
        if parsed:
            return parsed
    return parse(answer, extraction_config=_EXTRACTION, parsing_timeout=None)


def check(gold: str, predicted: str) -> bool:
    """Whether ``predicted`` is mathematically equivalent to ``gold`` (both bare answers)."""
    gold_parsed = parse_answer(gold)
    predicted_parsed = parse_answer(predicted)
    if not gold_parsed or not predicted_parsed:
        return False
    return bool(verify(gold_parsed, predicted_parsed, timeout_seconds=None))
