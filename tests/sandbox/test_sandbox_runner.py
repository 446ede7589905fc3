"""Ordinary programs: passed, failed with which test, the layers of isolation, what the program sees."""

from __future__ import annotations

import json

import pytest

from teachenv.sandbox import Isolation, SandboxConfig, run_program

pytestmark = pytest.mark.usefixtures("isolated")

CONFIG = SandboxConfig(wall_seconds=20)


def test_a_correct_program_passes_every_test_with_every_layer_of_isolation_active():
    result = run_program("def add(a, b):\n    return a + b\nprint('ready')", ["assert add(1, 2) == 3"], CONFIG)
    assert result.status == "passed", result
    assert result.mode == "isolated"
    assert result.isolation == Isolation(**{name: True for name in Isolation.model_fields})
    assert result.stdout == "ready\n" and result.exit_code == 0 and result.signal is None
    assert result.uid is not None and result.uid != 0


def test_the_first_failing_test_is_reported_by_index():
    tests = ["assert add(1, 2) == 3", "assert add(2, 2) == 5, 'two and two'", "assert False"]
    result = run_program("def add(a, b):\n    return a + b", tests, CONFIG)
    assert result.status == "failed"
    assert result.failed_test == 1
    assert "AssertionError: two and two" in result.error


def test_a_program_that_raises_fails_with_no_test_index():
    result = run_program("raise ValueError('bad input')", ["assert True"], CONFIG)
    assert (result.status, result.failed_test) == ("failed", None)
    assert "ValueError: bad input" in result.error


def test_exit_zero_before_the_tests_does_not_skip_them():
    result = run_program("import sys\nsys.exit(0)", ["assert False"], CONFIG)
    assert (result.status, result.failed_test) == ("failed", 0)


def test_dying_before_the_verdict_is_a_crash_not_a_pass():
    result = run_program("import os\nos._exit(0)", ["assert False"], CONFIG)
    assert result.status == "crashed" and result.exit_code == 0


def test_a_crash_reports_how_the_programs_own_process_ended():
    exited = run_program("import os\ndef f():\n    os._exit(3)", ["f()"], CONFIG)
    assert (exited.status, exited.exit_code, exited.signal) == ("crashed", 3, None)
    assert "exited with code 3 before the tests ended" in exited.error
    killed = run_program("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", [], CONFIG)
    assert (killed.status, killed.exit_code, killed.signal) == ("crashed", None, 9) and "SIGKILL" in killed.error


def test_the_program_sees_a_scrubbed_environment_a_private_home_and_a_standard_library():
    program = (
        "import os, json, sys, sqlite3, ctypes\n"
        "print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd(), 'uid': os.getuid(), 'pid': os.getpid(),"
        " 'ppid': os.getppid(), 'stdin': sys.stdin.read(), 'flags': sys.flags.no_user_site}))"
    )
    result = run_program(program, [], CONFIG)
    assert result.status == "passed", result
    seen = json.loads(result.stdout)
    assert set(seen["env"]) == {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED"}
    assert seen["env"]["HOME"] == seen["cwd"] == "/tmp/sandbox"
    assert seen["uid"] == result.uid and seen["pid"] == 2 and seen["ppid"] == 1
    assert seen["stdin"] == "" and seen["flags"] == 1

