"""Hub access is the user's explicit choice: importing teachenv changes no variable; --offline / --online set it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from teachenv.core.errors import ConfigError
from teachenv.student.hub import HUB_VARIABLES, is_offline, model_load_error, set_offline


def test_importing_teachenv_and_its_student_writes_no_environment_variable():
    code = ("import os; before = dict(os.environ); import teachenv, teachenv.student, teachenv.student.lora_student, "
            "teachenv.envs.build, teachenv.cli.main; changed = sorted(k for k in set(before) | set(os.environ) "
            "if before.get(k) != os.environ.get(k)); print(changed)")
    env = {k: v for k, v in os.environ.items() if k not in HUB_VARIABLES}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("offline", "value"), [(True, "1"), (False, "0")])
def test_the_switch_sets_both_variables_and_none_leaves_the_users(monkeypatch, offline, value):
    for name in HUB_VARIABLES:
        monkeypatch.setenv(name, "keep")
    set_offline(None)
    assert [os.environ[name] for name in HUB_VARIABLES] == ["keep", "keep"]
    set_offline(offline)
    assert [os.environ[name] for name in HUB_VARIABLES] == [value, value]
    assert is_offline() is offline
    set_offline(True)  # the test session's own setting (conftest), restored for the tests after this one


def test_a_model_that_cannot_be_loaded_says_why_and_what_to_do(monkeypatch):
    assert "is not a model folder" in str(model_load_error("student.model", "./nowhere", OSError("x")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = model_load_error("student.model", "org/model", OSError("x"))
    assert isinstance(offline, ConfigError) and "--online" in str(offline) and "'org/model'" in str(offline)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    online = model_load_error("student.model", "org/model", OSError("Repository not found.\nmore lines"))
    assert "Repository not found." in str(online) and "\n" not in str(online)
