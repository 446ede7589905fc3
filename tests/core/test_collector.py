"""long_lived_skipped: inside, the collector skips what was alive on entry and still frees what the window made;
on exit everything is collectable again (nested windows leave that to the outermost)."""

from __future__ import annotations

import gc
import weakref

from teachenv.core.collector import long_lived_skipped


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_garbage_made_inside_is_freed_inside_and_old_garbage_after():
    old = Node()
    old_ref = weakref.ref(old)
    assert gc.get_freeze_count() == 0
    with long_lived_skipped():
        assert gc.get_freeze_count() > 0
        del old  # garbage now, but it was alive on entry: frozen, so the window keeps it
        new = Node()
        new_ref = weakref.ref(new)
        del new
        gc.collect()
        assert new_ref() is None and old_ref() is not None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert old_ref() is None


def test_only_the_outermost_window_hands_the_objects_back():
    with long_lived_skipped():
        with long_lived_skipped():
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_an_error_inside_still_hands_the_objects_back():
    try:
        with long_lived_skipped():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.get_freeze_count() == 0


def test_a_host_programs_own_freeze_is_left_alone():
    """A program that froze objects before (a pre-forking server) keeps them frozen, and a window then freezes
    nothing: what dies inside it is freed as usual instead of being kept until an unfreeze that never comes."""
    gc.freeze()
    try:
        host_frozen = gc.get_freeze_count()
        doomed = Node()  # alive when the window opens, garbage inside it
        ref = weakref.ref(doomed)
        # Frozen objects still die by reference counting, so the count may fall; a window that froze would raise it.
        with long_lived_skipped():
            assert gc.get_freeze_count() <= host_frozen
            del doomed
        gc.collect()
        assert ref() is None
        assert gc.get_freeze_count() <= host_frozen
    finally:
        gc.unfreeze()
