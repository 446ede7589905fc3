"""SandboxConfig validation, the choice of interpreter, and the launcher's refusal to mount
anything outside a fresh mount namespace."""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from pydantic import ValidationError

from teachenv.sandbox import SandboxConfig, process, probe


def test_unknown_config_keys_are_rejected():
    with pytest.raises(ValidationError, match="extra"):
        SandboxConfig(wall_secs=3)


def test_an_item_limit_longer_than_the_run_is_rejected_with_the_fix():
    with pytest.raises(ValidationError, match="lower item_seconds or raise wall_seconds"):
        SandboxConfig(wall_seconds=5, item_seconds=10)


def test_the_interpreter_chosen_is_usable_by_any_uid():
    python = probe.resolve_python(None)
    assert probe._usable_by_anyone(python, this_interpreter=False)
    assert probe.resolve_python("/opt/custom/python3") == "/opt/custom/python3"  # a configured one is kept


def test_an_interpreter_behind_a_private_directory_is_not_usable(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    python = private / "python3"
    shutil.copy(sys.executable, python)
    assert not probe._usable_by_anyone(str(python), this_interpreter=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root could mount anything at all")
def test_the_launcher_refuses_to_mount_outside_a_new_mount_namespace(tmp_path):
    # The launcher run directly (no unshare) with an isolated spec: it must notice it shares the
    # host's namespaces and stop before mounting over the host's /tmp.
    config = SandboxConfig()
    spec = process.build_spec(
        config, "isolated", probe.resolve_python(None), "single", {"program": "", "tests": []},
        workdir=str(tmp_path / "work"), uid=None,
    )
    raw = process.execute(process.launcher_argv("weak"), spec, wall_seconds=20, output_cap=4096)
    errors = [event for event in raw.status.json_lines() if event.get("event") == "error"]
    assert errors and "refusing to mount" in errors[0]["message"]
    with open("/proc/self/mountinfo") as mounts:
        assert not any(line.split()[4] == "/tmp" and "tmpfs" in line and "nr_inodes=4096" in line for line in mounts)
    assert not (tmp_path / "work").exists()
