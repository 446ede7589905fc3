"""An answer that its judge sees go away is recorded by how it ended, never by how fast the machine is.

The judge reports ``crashed`` as soon as the answer's end of their channel closes; the item's init then
waits for the answer's own exit status (a CPU limit is ``timeout``), up to the item's deadline. Load
used to decide between the two: the init waited only a short grace of wall clock. Here an answer that
closes its channel first and dies of its CPU limit later stands in for a dying answer that the
scheduler keeps from being reaped (the same order of events, made wide and deterministic). Both modes
the sandbox supports are checked: the isolated one (the init is PID 1 of its own PID namespace) and
the weak one (no namespaces; the init is a subreaper).
"""

from __future__ import annotations

import pytest

from teachenv.sandbox import Isolation, Job, SandboxConfig, probe, run_batch

ORDINARY = Job(program="def double(x):\n    return x + x", tests=("assert double(2) == 4",))
# Breaks off its channel to the judge (fds 3 and 4 of the answer process), then spins or sleeps.
BREAK_CHANNEL = "import os\nos.close(3)\nos.close(4)\n"
SPIN_IN_A_CALL = Job(program="def f(x):\n    while True:\n        pass", tests=("f(1)",))
SPIN_AFTER_BREAKING = Job(program=BREAK_CHANNEL + "while True:\n    pass\ndef double(x):\n    return x + x",
                          tests=ORDINARY.tests)
SLEEP_AFTER_BREAKING = Job(program=BREAK_CHANNEL + "import time\ntime.sleep(600)", tests=ORDINARY.tests)
# One CPU second, and a wall clock so long that the CPU limit ends a spinner first even on a starved machine.
SPINNING = SandboxConfig(cpu_seconds=1, item_seconds=30, wall_seconds=50, workers=1, allow_weak=True)


@pytest.fixture(params=["isolated", pytest.param("weak", marks=pytest.mark.filterwarnings(
    "ignore::teachenv.sandbox.SandboxWeakModeWarning"))])
def mode(request, monkeypatch) -> str:
    if request.param == "isolated":
        request.getfixturevalue("isolated")
    else:
        def unavailable(python: str) -> probe.ProbeReport:
            return probe.ProbeReport(False, python, Isolation(), "simulated: no namespaces")

        monkeypatch.setattr(probe, "probe_isolation", unavailable)
    return request.param


def test_an_answer_that_dies_of_its_cpu_limit_is_a_timeout_even_after_its_judge_saw_it_go(mode):
    batch = run_batch([SPIN_IN_A_CALL, SPIN_AFTER_BREAKING, ORDINARY], SPINNING)
    assert batch.mode == mode
    assert [item.status for item in batch.items] == ["timeout", "timeout", "passed"], batch.items
    for item in batch.items[:2]:
        assert "the CPU limit of 1 s ran out" in item.error, item


def test_an_answer_that_breaks_its_channel_and_sleeps_ends_at_its_items_deadline(mode):
    """It cannot hold the item past its limit: the item's own deadline ends it (not the run's wall
    clock, which would re-run the item), and the next item is graded as usual."""
    config = SandboxConfig(item_seconds=1, wall_seconds=20, workers=1, allow_weak=True)
    batch = run_batch([SLEEP_AFTER_BREAKING, ORDINARY], config)
    assert batch.mode == mode
    assert [item.status for item in batch.items] == ["timeout", "passed"], batch.items
    assert "the item ran longer than 1 s" in batch.items[0].error, batch.items[0]
