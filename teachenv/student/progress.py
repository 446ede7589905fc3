"""Progress of long work (building a tiny student): a bar in a terminal, lines in a log.

In a terminal ``progress_steps`` draws a rich progress bar on stderr. Anywhere else (a pipe, a log
file, CI) it writes one whole line to stderr every ``EVERY_PERCENT`` percent or ``EVERY_SECONDS``
seconds, whichever comes first, so a log shows that the work is alive and how far it is. This module
knows nothing about what the steps do.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

EVERY_PERCENT = 10
EVERY_SECONDS = 30.0


def progress_steps(steps: range, progress: bool, description: str) -> Iterator[int]:
    """``steps``, reported on stderr when ``progress`` is asked for: a bar in a terminal, else lines."""
    if not progress:
        yield from steps
    elif sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            yield from bar.track(steps, description=description)
    else:
        yield from progress_lines(steps, description, sys.stderr)


def progress_lines(steps: range, description: str, stream: TextIO, *, every_percent: int = EVERY_PERCENT,
                   every_seconds: float = EVERY_SECONDS) -> Iterator[int]:
    """``steps``, writing ``description: 40% (640/1600 steps), 95 s, about 140 s left`` to ``stream`` as it goes."""
    total = len(steps)
    started = last_time = time.monotonic()
    last_percent = 0
    stream.write(f"{description}: {total} steps\n")
    stream.flush()
    for done, step in enumerate(steps, start=1):
        yield step
        now = time.monotonic()
        percent = 100 * done // total
        if done == total or percent >= last_percent + every_percent or now - last_time >= every_seconds:
            elapsed = now - started
            left = f", about {elapsed * (total - done) / done:.0f} s left" if done < total else ""
            stream.write(f"{description}: {percent}% ({done}/{total} steps), {elapsed:.0f} s{left}\n")
            stream.flush()
            last_time, last_percent = now, percent


@contextmanager
def no_loading_bars() -> Iterator[None]:
    """transformers' own bars (``Loading weights``) switched off for a block: loading a tiny student takes
    milliseconds, and in a log the bar is a line of carriage returns."""
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()
