"""``load_script`` runs a script as a module that the standard library can find while it executes."""

from __future__ import annotations

import sys
import textwrap

import pytest

import script_loader
from script_loader import load_script

DATACLASS_SCRIPT = """
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    x: int
    y: int = 2


def main() -> Point:
    return Point(1)
"""


@pytest.fixture
def scripts_at(tmp_path, monkeypatch):
    """Scripts written under ``tmp_path`` and loaded relative to it, as the loader does from the repository root."""
    monkeypatch.setattr(script_loader, "ROOT", tmp_path)

    def write(name: str, text: str) -> str:
        (tmp_path / name).write_text(textwrap.dedent(text))
        return name

    return write


def test_a_script_with_a_dataclass_under_future_annotations_loads(scripts_at):
    module = load_script(scripts_at("tool.py", DATACLASS_SCRIPT))
    assert module.main() == module.Point(x=1, y=2)
    assert module.__name__.startswith(script_loader.MODULE_PREFIX)  # not under a name a real module could own
    assert sys.modules[module.__name__] is module


def test_a_script_that_fails_to_run_leaves_no_module_behind(scripts_at):
    before = set(sys.modules)
    with pytest.raises(ZeroDivisionError):
        load_script(scripts_at("broken.py", "VALUE = 1 / 0\n"))
    assert set(sys.modules) == before
