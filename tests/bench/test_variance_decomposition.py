"""The variance-decomposition script refuses what it cannot measure before it runs anything."""

from __future__ import annotations

import pytest

from script_loader import load_script


def load():
    return load_script("scripts/variance_decomposition.py")


@pytest.mark.parametrize("argv, said", [(["--draws", "1"], "--draws 1"), (["--sources", "eval,weather"], "weather")])
def test_bad_arguments_are_refused_naming_the_bad_value(argv, said, capsys):
    with pytest.raises(SystemExit) as exc:
        load().main(argv)
    assert exc.value.code == 2 and said in capsys.readouterr().err
