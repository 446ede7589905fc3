"""The batch mode: many items in few sandbox runs; an item that hangs, ignores its signals or
kills its process costs only its own verdict."""

from __future__ import annotations

import time

import pytest

from teachenv.sandbox import Job, SandboxConfig, run_batch
from teachenv.sandbox.batch import MIN_CHUNK, split_chunks

pytestmark = pytest.mark.usefixtures("isolated")


def _answers(count: int) -> list[Job]:
    return [Job(program=f"def triple(x):\n    return x * {3 if k % 7 else 4}", tests=(f"assert triple({k}) == {3 * k}",))
            for k in range(count)]


def test_a_thousand_items_with_a_hanging_one_are_all_graded(capsys):
    jobs = _answers(1000)
    jobs[100] = Job(program="while True:\n    pass")  # interrupted by its alarm
    jobs[500] = Job(program="import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass")
    jobs[900] = Job(program="import os\nos._exit(1)")  # kills the interpreter
    config = SandboxConfig(wall_seconds=30, item_seconds=1, workers=2)
    started = time.monotonic()
    batch = run_batch(jobs, config)
    with capsys.disabled():
        print(f"\n[batch] 1,000 items, 3 hostile: {time.monotonic() - started:.2f} s in {batch.runs} sandbox runs")
    assert [item.index for item in batch.items] == list(range(1000))
    assert batch.mode == "isolated" and batch.isolation.complete
    by_index = {item.index: item for item in batch.items}
    assert by_index[100].status == "timeout" and by_index[500].status == "timeout"
    assert by_index[900].status == "crashed"
    for index, item in by_index.items():
        if index not in (100, 500, 900):
            assert item.status == ("failed" if index % 7 == 0 and index else "passed"), item
    assert by_index[7].failed_test == 0
    assert batch.runs == 2  # two chunks: every item ends in its own process tree, the harness never dies


def test_items_do_not_share_a_namespace_or_builtins():
    jobs = [
        Job(program="secret = 1\n__builtins__['len'] = lambda x: 42"),
        Job(program="print(len('ab'))", tests=("assert 'secret' not in globals()",)),
    ]
    batch = run_batch(jobs, SandboxConfig(wall_seconds=20, workers=1))
    assert [item.status for item in batch.items] == ["passed", "passed"]
    assert batch.items[1].stdout == "2\n"


def test_memory_errors_and_forks_inside_an_item_are_reported_per_item():
    jobs = [
        Job(program="block = bytearray(8 * 1024**3)"),
        Job(program="import os\nif os.fork() == 0:\n    pass"),  # the child must not grade the next items
        Job(program="x = 1", tests=("assert x == 1",)),
    ]
    batch = run_batch(jobs, SandboxConfig(wall_seconds=20, workers=1, memory_mb=256))
    assert [item.status for item in batch.items] == ["memory", "passed", "passed"]
    assert batch.runs == 1


def test_a_batch_is_split_into_at_most_workers_contiguous_chunks():
    assert split_chunks(1000, 4) == [(0, 250), (250, 500), (500, 750), (750, 1000)]
    assert split_chunks(MIN_CHUNK + 1, 8) == [(0, MIN_CHUNK + 1)]
    assert split_chunks(0, 4) == []
