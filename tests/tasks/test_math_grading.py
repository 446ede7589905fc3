"""Math grading: final-answer extraction, number normalization, equivalence, and the worker pool."""

from __future__ import annotations

import gc
import json
import multiprocessing
import time
from decimal import Decimal
from pathlib import Path

import psutil
import pytest

from teachenv.core.errors import ConfigError
from teachenv.tasks.math.extraction import final_answer, gsm8k_gold, last_boxed, normalize_number
from teachenv.tasks.math.grading import MathGrader
from teachenv.tasks.math.verify_pool import WORKER_DIED, VerifyPool

GSM8K_TEST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gsm8k" / "test.jsonl"


@pytest.fixture(scope="module")
def grader():
    with MathGrader(workers=2, timeout_s=5.0) as grader:
        yield grader


def _worker_pids(pool: VerifyPool) -> list[int]:
    return [worker.process.pid for worker in pool._workers]


def _all_gone(pids: list[int]) -> bool:
    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    return all(gone(pid) for pid in pids)


# -- extraction ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("She buys 3 packs of 12 eggs: 3 * 12 = 36. She uses 8, so 36 - 8 = 28 remain. The answer is 28.", "28"),
        ("Each costs $4, 5 cost 5 * 4 = $20. The final answer is $1,250.50.", "1,250.50"),
        (r"First \boxed{12}, but that ignores tax; 12 * 1.5 = 18 so \boxed{18}. Check: 18 > 12.", "18"),
        (r"So the probability is \boxed{\frac{3}{4}}.", r"\frac{3}{4}"),
        (r"Nested: \boxed{\frac{\sqrt{2}}{2}} and a set \boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"The answer is \boxed 5 apples", "5"),
        ("Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18.\n#### 18", "18"),
        ("48 / 2 = 24 clips in May.\n#### 72\nThat's 48 + 24.", "72"),
        ("We add 3 and 4 to get 7, then double it.\nFinal Answer: The final answer is $14$. I hope it is correct.", "14"),
        ("Total is 10 + 5 = 15.\n**Answer:** 15 dollars", "15 dollars"),
        ("It is 3 + 9 = 12 or 4 + 9 = 13, so the answer is probably 12, or maybe 13. Not sure.", "probably 12, or maybe 13"),
        ("The area is 3 * 4 = 12, the perimeter 2 * (3 + 4) = 14, and half of it is 7", "7"),
        ("Temperatures fell 36-8 degrees, to x = -3", "-3"),
        ("It rose by 1,800.50 and then by 3/4", "3/4"),
        ("The answer is 3.5.", "3.5"),
        # A final answer that is an expression, not a number, with no phrase before it: the whole
        # expression, never the number inside it (once "10^6" was read as its exponent, "6").
        ("10^6", "10^6"),  # a bare power
        ("$10^6$", "10^6"),  # ... in math mode
        ("Doubling 10 times: 2^{10}.", "2^{10}"),  # a braced exponent, after working
        (r"$\frac{3}{4}$", r"\frac{3}{4}"),  # a LaTeX fraction is one answer, not its denominator
        ("Three of four: 3/4", "3/4"),  # a slash fraction likewise
        ("Solving 2x = 10 gives x = 5", "5"),  # the value of the unknown, not the equation's 10
        ("-7", "-7"),  # a negative number keeps its sign
        ("$-7$", "-7"),
        ("1000 * 1000 = 10^6", "10^6"),  # the result of the working, as a power
        (r"the length is \sqrt{2}", r"\sqrt{2}"),  # a root is one answer
        ("So we subtract: 36 - 8", "8"),  # a spaced minus is an operator, not a sign (as before)
        ("", None),
        ("I cannot solve this problem.", None),
    ],
)
def test_final_answer_is_the_last_stated_answer_not_an_intermediate_number(completion, expected):
    assert final_answer(completion) == expected


def test_last_boxed_balances_nested_braces_and_ignores_an_unclosed_box():
    assert last_boxed(r"\boxed{1} then \fbox{\frac{1}{\sqrt{4}}}") == r"\frac{1}{\sqrt{4}}"
    assert last_boxed(r"\boxed{2} and a truncated \boxed{\frac{1}{") == "2"
    assert last_boxed("no box here") is None


def test_gsm8k_gold_is_the_text_after_the_last_marker():
    assert gsm8k_gold("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n#### 18") == "18"
    assert gsm8k_gold("#### 1\nwait, no\n#### 1,450,000 ") == "1,450,000"
    assert gsm8k_gold("a solution without a marker: 12") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18", "18"), ("$18.00", "18"), ("18 dollars", "18"), ("18.", "18"), (r"\$18", "18"),
        ("1,800", "1800"), ("1,800.50", "1800.5"), ("1{,}450{,}000", "1450000"), (r"70\,000", "70000"), ("-7", "-7"), ("-$3.50", "-3.5"), (".5", "0.5"),
        ("50%", "50"), (r"5\text{ cm}", "5"), ("3/4", "0.75"), (r"\frac{3}{4}", "0.75"), ("0.00", "0"),
        ("x+1", None), ("1/3", None), ("2 pi", None), ("12, or maybe 13", None), ("1,80", None), ("", None),
    ],
)
def test_normalize_number_reads_formatted_numbers_and_rejects_expressions(text, expected):
    assert normalize_number(text) == expected


# -- equivalence ---------------------------------------------------------------------------------


EQUIVALENT = [
    (r"\frac{1}{2}", "0.5"), (r"\frac{1}{2}", "1/2"), ("0.5", "1/2"), (r"\frac{1}{2}", r"\boxed{\frac{1}{2}}"),
    ("5", r"5\text{ cm}"), ("1000", "1,000"), (r"\sqrt{2}/2", r"\frac{\sqrt{2}}{2}"), ("x+1", "1+x"),
    ("18", "$18.00"), (r"\{1,2\}", r"\{2,1\}"), ("70000", "n = 70{,}000"), ("1430", r"x = 1\,430"),
]
NOT_EQUIVALENT = [("1/2", "1/3"), ("18", "19"), (r"\sqrt{2}", "2"), ("x+1", "x-1"), ("18", "18 or 19")]


def test_equivalent_answers_in_other_forms_are_equivalent(grader):
    assert grader.equivalent_many(EQUIVALENT) == [True] * len(EQUIVALENT)


def test_different_answers_are_not_equivalent(grader):
    assert grader.equivalent_many(NOT_EQUIVALENT) == [False] * len(NOT_EQUIVALENT)
    assert grader.equivalent("18", "18") and not grader.equivalent("18", "17")


def test_grade_extracts_the_final_answer_and_an_answerless_completion_is_wrong(grader):
    golds = ["28", r"\frac{3}{4}", "28", "72", "12", "1000000", "1024", "0.75", "-7"]
    completions = [
        "3 * 12 = 36 and 36 - 8 = 28. The answer is 28.",
        r"Two of the four... \boxed{\frac{6}{8}}",
        "3 * 12 = 36 and 36 - 8 = 28. The answer is 36.",
        "",
        "the answer is probably 12, or maybe 13.",
        "10^6",  # a bare power: once read as its exponent 6
        "2^{10}",
        "3/4",
        "$x = -7$",
    ]
    assert grader.grade(golds, completions) == [True, True, False, False, False, True, True, True, True]


# -- the worker pool -----------------------------------------------------------------------------


def test_a_hanging_job_is_killed_and_replaced_while_the_others_finish():
    with VerifyPool("time:sleep", workers=2, timeout_s=1.0) as pool:
        pool.map([(0.0,)])  # start the workers, so the wall time below measures the batch
        pids_before = set(_worker_pids(pool))
        start = time.perf_counter()
        results = pool.map([(0.01,)] * 4 + [(30,)] + [(0.01,)] * 4)
        wall = time.perf_counter() - start
        assert [result.timed_out for result in results] == [False] * 4 + [True] + [False] * 4
        assert all(result.error is None for result in results)
        assert 1.0 <= results[4].seconds < 5 and wall < 10
        assert set(_worker_pids(pool)) != pids_before and len(_worker_pids(pool)) == 2
        assert [result.ok for result in pool.map([(0.01,), (0.02,)])] == [True, True]


def test_results_are_in_order_and_a_raising_or_crashing_job_is_an_error_not_a_failed_batch():
    with VerifyPool("operator:truediv", workers=2, timeout_s=5.0) as pool:
        results = pool.map([(i, 2) for i in range(20)] + [(1, 0)])
        assert [result.value for result in results[:20]] == [i / 2 for i in range(20)]
        assert results[20].error.startswith("ZeroDivisionError") and results[20].value is None
    with VerifyPool("os:_exit", workers=1, timeout_s=5.0) as pool:
        assert pool.map([(3,)])[0].error == WORKER_DIED
        assert pool.map([(3,)])[0].error == WORKER_DIED  # the dead worker was replaced


def test_an_unimportable_target_is_an_error_on_every_job():
    with VerifyPool("no_such_module_anywhere:f", workers=1) as pool:
        results = pool.map([(1,), (2,)])
    assert all("cannot import" in result.error for result in results)
    with pytest.raises(ConfigError, match="module:function"):
        VerifyPool("no_colon")


def test_close_and_garbage_collection_leave_no_child_processes():
    pool = VerifyPool("time:sleep", workers=2, timeout_s=5.0)
    pool.map([(0.0,), (0.0,)])
    pids = _worker_pids(pool)
    assert len(pids) == 2 and all(psutil.pid_exists(pid) for pid in pids)
    pool.close()
    assert _all_gone(pids) and not {child.pid for child in multiprocessing.active_children()} & set(pids)

    forgotten = VerifyPool("time:sleep", workers=2)
    forgotten.map([(0.0,)])
    pids = _worker_pids(forgotten)
    del forgotten
    gc.collect()
    assert _all_gone(pids) and not {child.pid for child in multiprocessing.active_children()} & set(pids)


# -- real data -----------------------------------------------------------------------------------


def _surface_forms(gold: str) -> tuple[list[str], list[str]]:
    """Completions whose final answer is ``gold`` written differently, and two with ``gold + 1``."""
    value = Decimal(normalize_number(gold))
    wrong = value + 1

    def latex(number: Decimal) -> str:  # n = 1{,}450{,}000: a form only math-verify reads
        return "n = " + format(number, ",").replace(",", "{,}")

    right = [
        f"She buys 3 packs of 12, so 3 * 12 = 36, and 36 - 8 = 28. So the answer is ${value:,}.00.",
        rf"A first guess \boxed{{{wrong}}} double-counts; 2 * 6 = 12 fixes it: \boxed{{{value}}}.",
        f"Step 1: 4 + 5 = 9.\nStep 2: 9 * 3 = 27.\n#### {value} dollars",
        f"Let n be the total; 2n = 2 * 9 = 18 is not it. The final answer is ${latex(value)}$.",
    ]
    return right, [rf"\boxed{{{wrong}}}", f"The final answer is ${latex(wrong)}$."]


def test_every_gsm8k_gold_grades_right_in_other_forms_and_wrong_when_perturbed():
    if not GSM8K_TEST.exists():
        pytest.skip(f"GSM8K test split not found at {GSM8K_TEST}")
    golds = [gsm8k_gold(json.loads(line)["answer"]) for line in GSM8K_TEST.read_text().splitlines() if line.strip()]
    assert len(golds) == 1319 and None not in golds
    cases = [(gold, completion, verdict) for gold in golds for forms, verdict in zip(_surface_forms(gold), (True, False)) for completion in forms]

    start = time.perf_counter()
    with MathGrader(workers=2, timeout_s=5.0) as grader:
        verdicts = grader.grade([gold for gold, _, _ in cases], [completion for _, completion, _ in cases])
    seconds = time.perf_counter() - start
    print(f"graded {len(cases)} GSM8K completions ({len(golds)} problems) in {seconds:.2f} s")

    wrong = [(gold, completion) for (gold, completion, verdict), got in zip(cases, verdicts) if got != verdict]
    assert not wrong, f"{len(wrong)} misgraded, e.g. {wrong[:5]}"
