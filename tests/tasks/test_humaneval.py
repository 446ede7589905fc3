"""HumanEval graded by execution in the sandbox: every canonical solution passes, every empty body
fails, teacher examples are checked against their own tests, and pass@k is unbiased.

The grading runs under ``LOADED``, not the default limits. The default item limit (``item_seconds``: 2 s)
is wall clock, which a loaded machine stretches: at a load average of ~9 (and under ``nice``) an item
whose answer needs milliseconds of CPU can wait past its 2 s for a core, come back ``timeout`` and
count as a wrong canonical solution. ``LOADED`` leaves the containing to the CPU limit (RLIMIT_CPU on
the answer's and the judge's processes, which load does not stretch) at the default's 3 CPU seconds
(``min(cpu_seconds, ceil(item_seconds) + 1)``), and makes the wall clock a generous backstop: a
looping answer still gets 3 s of CPU and no more, and what is asserted is unchanged.
"""

from __future__ import annotations

import math
import time

import pytest

from teachenv.core.metrics import pass_at_k
from teachenv.core.records import TaskExample, TrainingExample
from teachenv.sandbox import SandboxConfig, probe_isolation
from teachenv.sandbox.probe import resolve_python
from teachenv.tasks.code.execution import run_solutions, truncate
from teachenv.tasks.code.humaneval import HumanEvalConfig, HumanEvalTask

DEFAULT = SandboxConfig()
LOADED = SandboxConfig(cpu_seconds=math.ceil(DEFAULT.item_seconds) + 1, item_seconds=60, wall_seconds=600)


@pytest.fixture(scope="module")
def task():
    return HumanEvalTask(HumanEvalConfig(sandbox=LOADED))


def test_validation_and_test_split_the_164_problems(task):
    val, test = task.load("val"), task.load("test")
    assert len(val) == 64 and len(test) == 100
    assert not {e.id for e in val} & {e.id for e in test}
    assert HumanEvalTask(HumanEvalConfig(seed=1)).load("val") != val


def test_every_canonical_solution_passes_and_every_empty_body_fails(task):
    problems = task.load("val") + task.load("test")
    start = time.perf_counter()
    credits = task.credit_many(problems * 2, [e.answer for e in problems] + ["    pass\n"] * len(problems))  # one batch
    canonical, empty = credits[: len(problems)], credits[len(problems):]
    seconds = time.perf_counter() - start
    print(f"\nHumanEval: 164 canonical + 164 empty bodies graded in one batch in {seconds:.2f} s")
    assert sum(canonical) == 164 and sum(empty) == 0


def test_a_completion_is_cut_to_one_body_and_a_hostile_one_is_contained(task):
    example = task.load("test")[0]
    extra = example.answer + "\ndef helper():\n    while True:\n        pass\n\nprint('x')\n"
    assert truncate(extra) == example.answer
    looping = "    while True:\n        pass\n"
    # Contained: its processes get the default's 3 CPU seconds, then RLIMIT_CPU ends them (the wall clock is
    # a backstop here; under the default limits its 2 s may come first). No timed assertion: under load a
    # contained loop still takes longer on the wall clock.
    assert task.credit_many([example, example], [looping, example.answer]) == [0.0, 1.0]
    # And it is recorded as its CPU limit, whatever the load (it used to come back `crashed` when the loaded
    # machine reaped the dying answer after its judge's verdict); 1 CPU second here, to keep the test short.
    one_second = task.config.sandbox.model_copy(update={"cpu_seconds": 1})
    looped = run_solutions([task.program(example, looping)], [example.tests], one_second)[0]
    assert looped.status == "timeout" and "the CPU limit of 1 s ran out" in looped.error, looped


def test_a_wall_clock_stretch_fails_a_correct_answer_by_default_and_not_under_the_test_limits(task):
    """What load does to an item (it waits for a core) stood in for by a sleep of 1.5 item limits before the
    canonical solution: the default's wall clock times it out, the tests' limits grade it as correct."""
    example = task.load("test")[0]
    program = f"import time\ntime.sleep({1.5 * DEFAULT.item_seconds})\n" + task.program(example, example.answer)
    loaded, default = (run_solutions([program], [example.tests], limits)[0]
                       for limits in (task.config.sandbox, DEFAULT))
    assert loaded.status == "passed"
    assert default.status == "timeout" and "longer than" in default.error


def _teacher_example(body: str, tests: tuple[str, ...]) -> TrainingExample:
    prompt = 'def add3(x):\n    """Return x plus 3."""\n'
    example = TaskExample(id="llm/add3", skill="all", prompt=prompt, answer=body, tests=tests)
    return TrainingExample(example=example, completion=body, origin="llm")


def test_teacher_examples_count_only_with_passing_non_trivial_tests(task):
    good = _teacher_example("    return x + 3\n", ("assert add3(1) == 4\nassert add3(-3) == 0\n",))
    wrong = _teacher_example("    return x + 2\n", ("assert add3(1) == 4\n",))
    trivial = _teacher_example("    return x + 3\n", ("assert True\n",))
    untested = _teacher_example("    return x + 3\n", ())
    verdicts = task.verify_many([good, wrong, trivial, untested])
    assert [v.accepted for v in verdicts] == [True, False, False, False]
    assert [v.reason for v in verdicts[1:]] == ["tests-fail", "trivial-tests", "unparseable"]
    assert task.verify(good).accepted


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(5, 0, 1) == 0.0 and pass_at_k(5, 5, 3) == 1.0
    assert pass_at_k(5, 1, 1) == pytest.approx(0.2)
    assert pass_at_k(10, 3, 2) == pytest.approx(1 - (7 * 6) / (10 * 9))
    assert pass_at_k(4, 2, 4) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_grading_runs_with_every_isolation_layer_where_namespaces_work():
    report = probe_isolation(resolve_python(None))
    if not report.available:
        pytest.skip(f"no namespaces here: {report.reason}")
    from teachenv.sandbox import run_batch

    result = run_batch([("x = 1", ("assert x == 1",))])
    assert result.mode == "isolated" and result.isolation.complete
