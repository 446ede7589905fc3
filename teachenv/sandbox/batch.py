"""`run_batch`: many independent (program, tests) items in few sandbox runs, for fast grading.

One sandbox per answer costs an interpreter start and a set of namespaces each (~0.1 s); here a
batch is cut into at most `workers` contiguous chunks, each graded in ONE sandbox run whose
harness forks every item from a zygote into its own PID / mount / IPC namespaces, uids, tmpfs and
time limit (see `harness`), streaming a verdict per item. Items cannot disturb each other: every
process an item started is gone before the next starts. When a run ends early (its wall clock,
the parent's stall watchdog, a dead harness), the interrupted item is only blamed if it was the
first item of that run (it had the whole clock); otherwise it and the rest re-run in a new
sandbox, so no item pays for the time of others. This module knows chunks and restarts, not
isolation mechanics.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from teachenv.sandbox import probe
from teachenv.sandbox.config import SandboxConfig
from teachenv.sandbox.results import BatchResult, Isolation, ItemResult, Job, Mode
from teachenv.sandbox.runner import SandboxRun, read_verdict, sandbox_run

MIN_CHUNK = 50  # smaller chunks cost more in sandbox starts than they win in parallelism
STALL_GRACE_S = 3.0  # beyond item_seconds: interpreter start-up, a slow verdict, a loaded machine


@dataclass
class _Chunk:
    start: int
    stop: int
    items: list[ItemResult]
    runs: list[Isolation]


def split_chunks(count: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous (start, stop) ranges: at most `workers`, none under MIN_CHUNK items unless only one."""
    chunks = max(1, min(workers, count // MIN_CHUNK))
    bounds = [count * k // chunks for k in range(chunks + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(chunks) if bounds[k] < bounds[k + 1]]


def _accept(run: SandboxRun, next_index: int, stop: int) -> list[ItemResult]:
    """Verdicts in order from `next_index`; a duplicate, out-of-order or malformed line is ignored."""
    accepted = []
    for record in run.raw.results.json_lines():
        verdict = read_verdict(record)
        if verdict is None or record.get("index") != next_index or next_index >= stop:
            continue
        status, failed_test, error = verdict
        duration, stdout = record.get("duration_s"), record.get("stdout")
        accepted.append(ItemResult(
            index=next_index, status=status, failed_test=failed_test, error=error,
            duration_s=float(duration) if isinstance(duration, (int, float)) else 0.0,
            stdout=stdout if isinstance(stdout, str) else "",
        ))
        next_index += 1
    return accepted


def _blame(run: SandboxRun, index: int) -> ItemResult:
    """The verdict of the item that was running, first in its run, when that run ended early."""
    if run.ending.limit_error is not None:
        status, error = run.ending.limit_error
        return ItemResult(index=index, status=status, error=f"{error} (during this item, alone in its run)")
    return ItemResult(index=index, status="crashed", error="the harness exited during this item, alone in its run")


def _grade_chunk(jobs: list[Job], start: int, stop: int, config: SandboxConfig, mode: Mode, python: str) -> _Chunk:
    chunk = _Chunk(start, stop, [], [])
    next_index = start
    while next_index < stop:
        first = next_index
        job = {"start": first, "items": [{"program": job.program, "tests": list(job.tests)} for job in jobs[first:stop]]}
        # Each item's processes get their own CPU limit; its init enforces item_seconds of wall clock.
        run = sandbox_run(
            config, mode, python, "batch", job,
            cpu_seconds=min(math.ceil(config.cpu_seconds), math.ceil(config.item_seconds) + 1),
            stall_seconds=config.item_seconds + STALL_GRACE_S,
        )
        chunk.runs.append(run.ending.isolation)
        if run.ending.setup_error is not None:  # not the items' fault, and would fail again
            chunk.items += [
                ItemResult(index=index, status="sandbox-error", error=run.ending.setup_error)
                for index in range(next_index, stop)
            ]
            break
        if not any(record.get("event") == "ready" for record in run.raw.results.json_lines()):
            error = (run.ending.limit_error or ("crashed", "the harness never started"))[1]
            chunk.items += [
                ItemResult(index=index, status="crashed", error=f"the batch harness did not start: {error}")
                for index in range(next_index, stop)
            ]
            break
        accepted = _accept(run, next_index, stop)
        chunk.items += accepted
        next_index += len(accepted)
        if next_index < stop and next_index == first:  # it had the run's whole wall clock to itself
            chunk.items.append(_blame(run, next_index))
            next_index += 1
        # else: the run's wall clock (or the watchdog) ran out after other items had used some of
        # it; the interrupted item starts the next run, first, with the whole clock.
    return chunk


def _all_of(layers: list[Isolation]) -> Isolation:
    """The layers every run had (a batch is only as isolated as its least isolated run)."""
    if not layers:
        return Isolation()
    return Isolation(**{name: all(getattr(run, name) for run in layers) for name in Isolation.model_fields})


def run_batch(
    jobs: Iterable[Job | tuple[str, Iterable[str]]],
    config: SandboxConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> BatchResult:
    """Grade independent items (a `Job` or a ``(program, tests)`` pair each) in few sandbox runs.

    Results come in the order of `jobs`. The wall clock (`wall_seconds`) bounds each sandbox run;
    a run cut short costs one item its verdict (timeout / memory / crashed), never the others.
    """
    config = config or SandboxConfig()
    items = [job if isinstance(job, Job) else Job(program=job[0], tests=tuple(job[1])) for job in jobs]
    mode, python = probe.select_mode(config, environ)
    started = time.monotonic()
    ranges = split_chunks(len(items), config.workers)
    with ThreadPoolExecutor(max_workers=max(1, len(ranges))) as executor:
        chunks = list(executor.map(lambda bounds: _grade_chunk(items, *bounds, config, mode, python), ranges))
    return BatchResult(
        items=tuple(result for chunk in chunks for result in chunk.items),
        runs=sum(len(chunk.runs) for chunk in chunks),
        duration_s=round(time.monotonic() - started, 4),
        mode=mode,
        isolation=_all_of([layers for chunk in chunks for layers in chunk.runs]),
    )
