"""`time_box`: end whatever the block is blocked on after some seconds (SIGALRM, main thread),
so that a test fails instead of hanging. Shared by the sandbox tests' hard limit and the
property-based tests' per-call limit."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator


def _raise_timeout(seconds: float) -> None:
    raise TimeoutError(f"ran longer than {seconds} s")


@contextlib.contextmanager
def time_box(seconds: float, on_expire: Callable[[float], None] = _raise_timeout) -> Iterator[None]:
    """Call `on_expire(seconds)` (which raises) in the block when it runs longer than `seconds`."""
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: on_expire(seconds))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
