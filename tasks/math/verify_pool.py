"""A persistent pool of spawned worker processes that runs one function on many argument tuples.

It owns the processes: starting them (``spawn``, never ``fork``: the parent holds torch threads),
handing each idle worker the next job, a per-item deadline, and replacing a worker that exceeds
it (killed) or dies, so a pathological item costs one worker and never the batch. Workers start
on the first ``map``, are reused across calls, and are stopped by ``close()``, by leaving a
``with`` block, or at interpreter exit, so no orphan process outlives the pool.

It knows nothing about math: the function is a ``"module:function"`` string imported in the
workers only, so the parent never imports what the jobs need.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from teachenv.core.errors import ConfigError, TeachEnvError

#: Seconds a new worker may take to start and import its target before the pool gives up.
STARTUP_TIMEOUT_S = 60.0
#: Seconds ``close()`` waits for a worker to exit on its own before killing it.
STOP_GRACE_S = 2.0
WORKER_DIED = "worker died"


class VerifyPoolError(TeachEnvError, RuntimeError):
    """A worker could not be started (it exited or hung before it was ready)."""


@dataclass(frozen=True)
class PoolResult:
    """The outcome of one job: its return value, or why there is none."""

    value: Any = None
    #: ``"ExceptionType: message"`` raised in the worker, ``"worker died"``, or ``None``.
    error: str | None = None
    #: The job exceeded the per-item timeout; its worker was killed and replaced.
    timed_out: bool = False
    #: Wall seconds from handing the job to a worker to its result (or to the kill).
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


def _worker_main(target: str, conn: Connection) -> None:
    """The worker loop: import ``target``, say ready, then answer ``(job_id, args)`` until ``None``."""
    try:
        from teachenv.core.registry import import_string

        function, import_error = import_string(target), None
    except Exception as error:  # reported on every job, so the caller sees why
        function, import_error = None, f"cannot import {target!r}: {type(error).__name__}: {error}"
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if job is None:
            return
        job_id, args = job
        if function is None:
            conn.send((job_id, False, import_error))
            continue
        try:
            reply = (job_id, True, function(*args))
        except Exception as error:  # a failing job is a result, not the end of the worker
            reply = (job_id, False, f"{type(error).__name__}: {error}")
        try:
            conn.send(reply)
        except Exception as error:  # e.g. an unpicklable return value
            conn.send((job_id, False, f"cannot send the result back: {type(error).__name__}: {error}"))


class _Worker:
    """One process, the parent's end of its pipe, and the job it is running (if any)."""

    def __init__(self, context: Any, target: str) -> None:
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(target, child_conn), daemon=True)
        self.process.start()
        child_conn.close()  # so that the parent reads EOF when the worker dies
        self.ready = False
        self.started_at = time.monotonic()
        self.job: tuple[int, int, float] | None = None  # (job id, item index, dispatched at)

    def stop(self, grace_s: float) -> None:
        if self.process.is_alive() and self.ready and self.job is None:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(grace_s)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


def _stop_all(workers: list[_Worker]) -> None:
    """Stop every worker; a module-level function so the finalizer holds no reference to the pool."""
    while workers:
        workers.pop().stop(STOP_GRACE_S)


class VerifyPool:
    """Runs ``target(*args)`` for many argument tuples on ``workers`` spawned processes.

    ``map`` is not meant to be called from several threads at once; a lock serialises such calls.
    """

    def __init__(self, target: str = "module:function", workers: int = 2, timeout_s: float = 5.0) -> None:
        module, sep, function = target.partition(":")
        if not (module and sep and function):
            raise ConfigError(f"VerifyPool target must be 'module:function', got {target!r}.")
        if workers < 1:
            raise ConfigError(f"VerifyPool workers must be >= 1, got {workers}.")
        if timeout_s <= 0:
            raise ConfigError(f"VerifyPool timeout_s must be > 0 seconds, got {timeout_s}.")
        self.target, self.workers, self.timeout_s = target, workers, timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._next_job_id = 0
        self._lock = threading.Lock()
        self._closed = False
        self._finalizer = weakref.finalize(self, _stop_all, self._workers)

    def __enter__(self) -> VerifyPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (idle ones exit cleanly, busy ones are killed). The pool is unusable after."""
        self._closed = True
        self._finalizer()

    def map(self, args_list: Sequence[tuple]) -> list[PoolResult]:
        """One ``PoolResult`` per argument tuple, in order."""
        if self._closed:
            raise TeachEnvError("This VerifyPool is closed; create a new one.")
        with self._lock:
            if not args_list:
                return []
            while len(self._workers) < self.workers:
                self._workers.append(_Worker(self._context, self.target))
            try:
                return self._run(args_list)
            except BaseException:
                self._replace_busy()  # their results would belong to an abandoned call
                raise

    def _run(self, args_list: Sequence[tuple]) -> list[PoolResult | None]:
        results: list[PoolResult | None] = [None] * len(args_list)
        pending = deque(range(len(args_list)))
        while pending or any(worker.job for worker in self._workers):
            for worker in self._workers:
                if pending and worker.ready and worker.job is None:
                    index = pending.popleft()
                    self._next_job_id += 1
                    worker.conn.send((self._next_job_id, tuple(args_list[index])))
                    worker.job = (self._next_job_id, index, time.monotonic())
            readable = set(wait(self._wait_handles(), timeout=self._seconds_to_next_deadline()))
            for worker in list(self._workers):
                if worker.conn in readable or worker.process.sentinel in readable:
                    self._receive(worker, results)
            self._enforce_deadlines(results)
        return results

    def _wait_handles(self) -> list[Any]:
        handles: list[Any] = []
        for worker in self._workers:
            handles += [worker.conn, worker.process.sentinel]
        return handles

    def _seconds_to_next_deadline(self) -> float:
        now = time.monotonic()
        deadlines = [
            worker.job[2] + self.timeout_s if worker.job else worker.started_at + STARTUP_TIMEOUT_S
            for worker in self._workers
            if worker.job or not worker.ready
        ]
        return max(0.0, min(deadlines) - now) if deadlines else 0.0

    def _receive(self, worker: _Worker, results: list[PoolResult | None]) -> None:
        """Read what a worker sent (a result or "ready"), or handle its death."""
        try:
            message = worker.conn.recv() if worker.conn.poll() else None
        except (EOFError, OSError):
            message = None
        if message is None:
            if worker.process.is_alive() and not worker.conn.closed:
                return  # a spurious wake-up
            self._handle_death(worker, results)
        elif message == "ready":
            worker.ready = True
        elif worker.job and message[0] == worker.job[0]:
            _, index, dispatched_at = worker.job
            _, ok, payload = message
            seconds = time.monotonic() - dispatched_at
            results[index] = PoolResult(value=payload, seconds=seconds) if ok else PoolResult(error=payload, seconds=seconds)
            worker.job = None

    def _handle_death(self, worker: _Worker, results: list[PoolResult | None]) -> None:
        worker.process.join(5)
        if not worker.ready:
            self._workers.remove(worker)
            worker.kill()
            raise VerifyPoolError(
                f"A VerifyPool worker for {self.target!r} exited with code {worker.process.exitcode} before "
                "it was ready; see its traceback above. Workers are spawned, so a script that uses the "
                "pool must start it under `if __name__ == \"__main__\":`."
            )
        if worker.job:
            _, index, dispatched_at = worker.job
            results[index] = PoolResult(error=WORKER_DIED, seconds=time.monotonic() - dispatched_at)
        self._replace(worker)

    def _enforce_deadlines(self, results: list[PoolResult | None]) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.job and now - worker.job[2] >= self.timeout_s:
                _, index, dispatched_at = worker.job
                results[index] = PoolResult(timed_out=True, seconds=now - dispatched_at)
                self._replace(worker)
            elif not worker.ready and now - worker.started_at >= STARTUP_TIMEOUT_S:
                self._workers.remove(worker)
                worker.kill()
                raise VerifyPoolError(
                    f"A VerifyPool worker for {self.target!r} was not ready after {STARTUP_TIMEOUT_S:.0f} s."
                )

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._workers[self._workers.index(worker)] = _Worker(self._context, self.target)

    def _replace_busy(self) -> None:
        for worker in list(self._workers):
            if worker.job:
                self._replace(worker)
