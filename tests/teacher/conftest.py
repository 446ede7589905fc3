"""A small tiny teacher (a short build), shared by the teacher tests."""

from __future__ import annotations

import pytest

from teachenv.tasks.arith.task import ArithTask
from tests.teacher.tiny_recipe import TEST_RECIPE


@pytest.fixture(scope="session")
def teacher():
    from teachenv.teacher.backend import TinyTeacherBackend, TinyTeacherConfig

    return TinyTeacherBackend(TinyTeacherConfig(recipe=TEST_RECIPE), ArithTask())
