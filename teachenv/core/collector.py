"""``long_lived_skipped``: a window in which Python's cyclic garbage collector skips the objects already alive.

The collector's full collections walk every tracked object. In a process that has imported torch and
transformers there are over a million of them, so each full collection costs 0.1-0.25 s of CPU, and the imports
that a round makes on first use (torch and transformers when the student is built; TRL, ``datasets`` and pandas
when it first trains) allocate enough to trigger several. What is alive before such a step (modules, classes,
the configuration, the base model) is alive after it, so walking it again finds nothing to free.

Inside the window those objects are frozen (``gc.freeze``): the collector runs as usual, over what the window
allocates; on exit they are handed back to the collector (``gc.unfreeze``), so nothing is kept longer than the
window, and anything that became garbage meanwhile is freed by the next collection. Nested windows leave the
unfreezing to the outermost. Objects allocated inside a window are never frozen by it. Where the host program
froze objects itself (``gc.freeze`` before the first window, e.g. a pre-forking server), no window freezes
anything: ``gc.unfreeze`` cannot hand back only ours, so freezing would keep what dies in a window forever
or unfreeze the host's. This module knows nothing about models or training.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


_depth = 0  # windows open now (one thread runs a student's build or training at a time)


@contextmanager
def long_lived_skipped() -> Iterator[None]:
    """Within, the collector skips every object alive on entry; on exit they are collectable again."""
    global _depth
    if _depth == 0 and gc.get_freeze_count() > 0:  # the host's own freeze: leave the collector alone
        yield
        return
    _depth += 1
    gc.freeze()
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()
