"""`run_batch`: many independent (program, tests) items in few sandbox runs, for fast grading.

One process per answer costs an interpreter start and a namespace each (~0.1 s); here a batch is
cut into at most `workers` contiguous chunks, each graded in ONE sandbox run whose harness runs
the items one after another, each in a fresh namespace under its own SIGALRM limit, streaming a
verdict per item. The parent's stall watchdog kills a run whose current item ignores its alarm;
an item that hangs or kills the interpreter is blamed, and the chunk's remaining items are
re-run in a new sandbox, so no other item's verdict is lost.

Items share one interpreter: the host is protected exactly as in `run_program`, but an item can
disturb the items after it (monkeypatching a module, say). Use `run_program` per item when items
must not influence each other. This module knows chunks and restarts, not isolation mechanics.
"""

from __future__ import annotations

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
    """The verdict of the item that was running when its sandbox run ended early."""
    if run.ending.limit_error is not None:
        status, error = run.ending.limit_error
        return ItemResult(index=index, status=status, error=f"{error} (during this item; later items re-run)")
    return ItemResult(index=index, status="crashed", error="the interpreter exited during this item; later items re-run")


def _grade_chunk(jobs: list[Job], start: int, stop: int, config: SandboxConfig, mode: Mode, python: str) -> _Chunk:
    chunk = _Chunk(start, stop, [], [])
    next_index = start
    while next_index < stop:
        job = {
            "start": next_index, "item_seconds": config.item_seconds, "item_output_chars": config.item_output_bytes,
            "items": [{"program": job.program, "tests": list(job.tests)} for job in jobs[next_index:stop]],
        }
        # The CPU rlimit covers the whole run here; each item is bounded by its alarm and the watchdog.
        run = sandbox_run(
            config, mode, python, "batch", job, cpu_seconds=max(config.cpu_seconds, config.wall_seconds),
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
        if next_index < stop:
            chunk.items.append(_blame(run, next_index))
            next_index += 1
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
