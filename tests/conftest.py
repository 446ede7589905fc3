"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """The tests never reach the Hugging Face Hub: Hub access is switched off explicitly (teachenv itself
    leaves it to the user; see ``teachenv.student.hub``)."""
    from teachenv.student.hub import set_offline

    set_offline(True)


@pytest.fixture(scope="session")
def tiny_student_dir() -> Path:
    """The real tiny student (default recipe, default arith task), built once per test session.

    Cached under ``TEACHENV_HOME`` (CI points it at a fresh directory, so the ~2-3 minute build
    happens once per CI run and every slow test shares it); later sessions reuse the cache.
    """
    from teachenv.core.config import TinyStudentRecipe
    from teachenv.student.tiny_model import load_or_build_tiny, tiny_student_path
    from teachenv.tasks.arith.task import ArithTask

    recipe, task = TinyStudentRecipe(), ArithTask()
    load_or_build_tiny(recipe, task)
    return tiny_student_path(recipe, task)


@pytest.fixture(scope="session")
def tiny_context_student_dir() -> Path:
    """The real tiny student that reads its context (default ``tiny-context`` recipe, default arith task),
    built once per test session and cached under ``TEACHENV_HOME`` like ``tiny_student_dir``."""
    from teachenv.core.config import TinyContextRecipe
    from teachenv.student.tiny_model import load_or_build_tiny, tiny_student_path
    from teachenv.tasks.arith.task import ArithTask

    recipe, task = TinyContextRecipe(), ArithTask()
    load_or_build_tiny(recipe, task)
    return tiny_student_path(recipe, task)
