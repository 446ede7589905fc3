"""The variance-decomposition script refuses what it cannot measure before it runs anything."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "variance_decomposition.py"


def load():
    spec = importlib.util.spec_from_file_location("variance_decomposition", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv, said", [(["--draws", "1"], "--draws 1"), (["--sources", "eval,weather"], "weather")])
def test_bad_arguments_are_refused_naming_the_bad_value(argv, said, capsys):
    with pytest.raises(SystemExit) as exc:
        load().main(argv)
    assert exc.value.code == 2 and said in capsys.readouterr().err
