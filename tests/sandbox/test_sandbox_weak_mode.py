"""Where namespaces are unavailable: refuse untrusted code, unless the weak mode is opted in to,
which warns and is recorded in every result."""

from __future__ import annotations

import os

import psutil
import pytest

from teachenv.core.errors import ConfigError
from teachenv.sandbox import (
    Isolation, SandboxConfig, SandboxUnavailableError, SandboxWeakModeWarning, probe, run_batch, run_program,
)


@pytest.fixture
def no_namespaces(monkeypatch):
    def unavailable(python: str) -> probe.ProbeReport:
        return probe.ProbeReport(False, python, Isolation(), "simulated: unshare is not permitted")

    monkeypatch.setattr(probe, "probe_isolation", unavailable)


def test_untrusted_code_is_refused_without_isolation_and_the_error_says_how_to_opt_in(no_namespaces):
    with pytest.raises(SandboxUnavailableError) as caught:
        run_program("print('hi')", [], SandboxConfig(), environ={})
    assert isinstance(caught.value, ConfigError)
    message = str(caught.value)
    assert "simulated: unshare is not permitted" in message
    assert "allow_weak=True" in message and "TEACHENV_SANDBOX=weak" in message


def test_the_weak_mode_runs_with_a_warning_and_says_so_in_the_result(no_namespaces):
    with pytest.warns(SandboxWeakModeWarning, match="WEAK SANDBOX MODE"):
        result = run_program("import os\nprint(os.getcwd())", ["assert True"], SandboxConfig(allow_weak=True), environ={})
    assert result.status == "passed", result
    assert result.mode == "weak"
    assert result.isolation.rlimits and not (result.isolation.pid_ns or result.isolation.net_ns or result.isolation.tmpfs)
    assert result.isolation.uid_drop == (os.geteuid() == 0)
    assert not os.path.exists(result.stdout.strip())  # its temp dir is removed afterwards


def test_the_environment_variable_opts_in_too_and_limits_still_hold(no_namespaces):
    config = SandboxConfig(wall_seconds=3, cpu_seconds=1, item_seconds=1)
    with pytest.warns(SandboxWeakModeWarning, match="TEACHENV_SANDBOX=weak"):
        batch = run_batch([("import time\ntime.sleep(30)", [])], config, environ={"TEACHENV_SANDBOX": "weak"})
    assert batch.mode == "weak" and batch.items[0].status == "timeout"


def test_the_weak_mode_still_kills_what_an_item_left_behind_before_the_next_item(no_namespaces):
    """Without namespaces the item's init is a subreaper that kills every descendant (setsid
    daemons included); weak-mode verdicts are not protected from the program, but items are."""
    leaver = (
        "import os\nif os.fork() == 0:\n    os.setsid()\n    pid = os.fork()\n    if pid == 0:\n        while True:\n"
        "            pass\n    os.write(1, f'{pid}\\n'.encode())\n    os._exit(0)\nos.wait()\n"
    )
    counter = ("def count(n):\n    return sum(1 for _ in range(n))", ["assert count(200_000) == 200_000"])
    config = SandboxConfig(allow_weak=True, wall_seconds=20, item_seconds=2)
    with pytest.warns(SandboxWeakModeWarning):
        batch = run_batch([counter, (leaver, []), counter], config, environ={})
    assert [item.status for item in batch.items] == ["passed"] * 3, batch.items
    assert not psutil.pid_exists(int(batch.items[1].stdout))
