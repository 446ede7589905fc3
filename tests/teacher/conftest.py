"""A small tiny teacher (a short build), shared by the teacher tests."""

from __future__ import annotations

import pytest

from teachenv.tasks.arith.task import ArithTask
from teachenv.teacher.model import TinyTeacherRecipe

#: Small enough to build in seconds on a loaded core; the tests need a real LM, not a good one.
TEST_RECIPE = TinyTeacherRecipe(hidden_size=32, num_layers=1, intermediate_size=64, pretrain_steps=60, batch_size=32)


@pytest.fixture(scope="session")
def teacher():
    from teachenv.teacher.backend import TinyTeacherBackend, TinyTeacherConfig

    return TinyTeacherBackend(TinyTeacherConfig(recipe=TEST_RECIPE), ArithTask())
