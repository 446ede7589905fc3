"""The test harness that runs *inside* the sandbox, as the unprivileged user.

Run as ``python -s -B harness.py single|batch job.json`` in the sandbox's working directory,
standard library only. It reads and deletes ``job.json``, executes each program as ``__main__``
in a fresh namespace, then its test snippets in that namespace, and writes one JSON line per
verdict to fd 3 (the result pipe): one line in the single mode, one per item, as each finishes,
in the batch mode (so an item that kills the interpreter loses no earlier verdict). Batch items
get a per-item time limit (SIGALRM) and their own capped stdout.

The verdicts are only as trustworthy as any in-process harness: a program can see and forge
them (it could write to fd 3 itself). What protects the host is the sandbox around this process,
not this file. It knows nothing about the parent, its config models or how it was launched.
"""

from __future__ import annotations

import builtins
import json
import os
import signal
import sys
import time

RESULT_FD = 3
ERROR_CHARS = 2000


class ItemTimeout(BaseException):
    """Raised into a batch item when its time is up (a BaseException: `except Exception` misses it)."""


def _describe(exc: BaseException) -> str:
    """``Type: message``; not `traceback.format_exception_only`, which walks the whole
    traceback (seconds after a recursion a million frames deep)."""
    exc.__traceback__ = None  # free the program's frames now
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__, or MemoryError
        message = "<unprintable>"
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:ERROR_CHARS]


def _verdict(exc: BaseException, failed_test: int | None) -> dict:
    if isinstance(exc, MemoryError):
        status = "memory"
    elif isinstance(exc, ItemTimeout):
        status = "timeout"
    else:
        status = "failed"
    where = "the program" if failed_test is None else f"test {failed_test}"
    return {"status": status, "failed_test": failed_test, "error": f"{where} raised {_describe(exc)}"}


def run_job(program: str, tests: list[str], pristine_builtins: dict) -> dict:
    """Run a program, then its tests, in one fresh namespace; the verdict as a dict."""
    namespace = {"__name__": "__main__", "__builtins__": dict(pristine_builtins)}
    try:
        exec(compile(program, "<program>", "exec"), namespace)
    except SystemExit as exc:  # exit(0) ends the program, not the grading
        if exc.code not in (None, 0):
            return {"status": "failed", "failed_test": None, "error": f"the program exited with {exc.code!r}"}
    except BaseException as exc:  # noqa: BLE001 - whatever the program raises is its verdict
        return _verdict(exc, None)
    for index, test in enumerate(tests):
        try:
            exec(compile(test, f"<test {index}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001
            return _verdict(exc, index)
    return {"status": "passed", "failed_test": None, "error": None}


def _report(record: dict) -> None:
    data = (json.dumps(record) + "\n").encode()
    while data:
        data = data[os.write(RESULT_FD, data):]


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the program may have replaced or closed them
            pass


class CappedText:
    """A stdout stand-in keeping the first `limit` characters written to it."""

    def __init__(self, limit: int) -> None:
        self.limit, self.parts, self.size = limit, [], 0

    def write(self, text: str) -> int:
        if self.size < self.limit:
            self.parts.append(str(text)[: self.limit - self.size])
            self.size += len(self.parts[-1])
        return len(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return "".join(self.parts)


class Batch:
    """Runs the items of one batch job, each under its own SIGALRM limit."""

    def __init__(self, item_seconds: float, output_chars: int, pristine_builtins: dict) -> None:
        self.item_seconds, self.output_chars = item_seconds, output_chars
        self.builtins = pristine_builtins
        self.active = False
        self.pid = os.getpid()
        self.cwd = os.getcwd()
        self.recursion_limit = sys.getrecursionlimit()

    def _on_alarm(self, signum, frame) -> None:
        if self.active:
            raise ItemTimeout(f"the item ran longer than {self.item_seconds} s")

    def _run_timed(self, item: dict) -> dict:
        self.active = True
        signal.signal(signal.SIGALRM, self._on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.item_seconds)
        try:
            return run_job(item["program"], item["tests"], self.builtins)
        finally:
            self.active = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def run_item(self, index: int, item: dict) -> dict:
        captured = CappedText(self.output_chars)
        real_stdout = sys.stdout
        sys.stdout = captured
        started = time.perf_counter()
        try:
            verdict = self._run_timed(item)
        except ItemTimeout as exc:  # the alarm fired between the item and the harness's cleanup
            verdict = _verdict(exc, None)
        finally:
            if os.getpid() != self.pid:  # a fork of the item came back here: it must not grade
                os._exit(0)
            sys.stdout = real_stdout
            sys.setrecursionlimit(self.recursion_limit)
            os.chdir(self.cwd)
        duration = round(time.perf_counter() - started, 6)
        return {"index": index, **verdict, "duration_s": duration, "stdout": captured.getvalue()}


def main(argv: list[str]) -> None:
    mode, job_path = argv[1], argv[2]
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    os.unlink(job_path)  # the program has no business reading its own tests
    pristine_builtins = dict(vars(builtins))
    if mode == "single":
        pid = os.getpid()
        verdict = run_job(job["program"], job["tests"], pristine_builtins)
        if os.getpid() != pid:
            os._exit(0)
        _flush_std_streams()
        _report(verdict)
    else:
        batch = Batch(job["item_seconds"], job["item_output_chars"], pristine_builtins)
        _report({"event": "ready"})  # from here on, a death is the current item's doing
        for offset, item in enumerate(job["items"]):
            _report(batch.run_item(job["start"] + offset, item))
        _flush_std_streams()
    os._exit(0)  # skip atexit hooks and non-daemon threads the program may have left behind


if __name__ == "__main__":
    main(sys.argv)
