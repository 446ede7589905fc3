"""How a code task's answers are run: a completion cut at the stop sequences, joined to the problem's
prompt and executed against its tests in one batched sandbox run (``teachenv.sandbox.run_batch``).

It owns the truncation of a completion to one function body, the program / test layout and the check
of teacher-written code data (its solution passes its tests, an emptied one does not). It knows no dataset and no model.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from teachenv.core.records import Verdict
from teachenv.sandbox import SandboxConfig, run_batch
from teachenv.sandbox.results import ItemResult

#: Where a function body ends in a completion (HumanEval's stop sequences).
STOP_SEQUENCES = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ")


def truncate(completion: str) -> str:
    """The completion up to the first stop sequence: the function body the student wrote."""
    cut = min((i for i in (completion.find(s) for s in STOP_SEQUENCES) if i >= 0), default=len(completion))
    return completion[:cut]


def empty_bodies(program: str) -> str | None:
    """``program`` with every function's body replaced by ``pass`` (docstrings kept): what tests that
    test something must fail on; None if it does not parse."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = node.body[:1] if ast.get_docstring(node) is not None else []
            node.body = [*docstring, ast.Pass()]
    return ast.unparse(tree) + "\n"


def run_solutions(programs: Sequence[str], tests: Sequence[Sequence[str]],
                  config: SandboxConfig | None = None) -> list[ItemResult]:
    """Each program against its tests, in one batched sandbox run (parallel over ``config.workers``)."""
    if not programs:
        return []
    return list(run_batch(list(zip(programs, [tuple(t) for t in tests], strict=True)), config).items)


def verify_solutions(items: Sequence[tuple[str, str | None, Sequence[str]]],
                     config: SandboxConfig | None = None) -> list[Verdict]:
    """Teacher-written code data: each (solution program, the same with empty bodies, tests) counts only if
    the solution passes its tests and the emptied program fails them; all run in one batched sandbox run."""
    verdicts: list[Verdict | None] = [None] * len(items)
    programs, tests, runnable = [], [], []
    for i, (program, empty, item_tests) in enumerate(items):
        if not item_tests:
            verdicts[i] = Verdict(accepted=False, reason="unparseable", detail="the example carries no tests")
        elif empty is None:
            verdicts[i] = Verdict(accepted=False, reason="tests-fail", detail="the solution is not valid Python")
        else:
            runnable.append(i)
            programs += [program, empty]
            tests += [item_tests, item_tests]
    results = run_solutions(programs, tests, config)
    for k, i in enumerate(runnable):
        solution, emptied = results[2 * k], results[2 * k + 1]
        if solution.status != "passed":
            verdicts[i] = Verdict(accepted=False, reason="tests-fail",
                                  detail=f"the solution {solution.status}: {solution.error or ''}"[:300])
        elif emptied.status == "passed":
            verdicts[i] = Verdict(accepted=False, reason="trivial-tests", detail="the tests pass on empty bodies")
        else:
            verdicts[i] = Verdict(accepted=True)
    return verdicts  # type: ignore[return-value]
