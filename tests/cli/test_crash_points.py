"""``TEACHENV_CRASH_AT`` is parsed at the CLI and refused with the fix when malformed; points that do not
match pass through to the caller's hooks. (The kills themselves: ``test_resume.py``.)"""

from __future__ import annotations

import pytest

from teachenv.cli.crash_points import CrashPoint, ENV_VAR
from teachenv.core.errors import ConfigError
from teachenv.core.run_dir import RunDirectory


def test_an_unset_variable_installs_nothing():
    assert CrashPoint.from_environ({}) is None
    assert CrashPoint.from_environ({ENV_VAR: ""}) is None


@pytest.mark.parametrize("spec", ["verify", "verify:x", "nowhere:1", "train-step:2", "record:1:2"])
def test_a_malformed_crash_point_names_the_shape_to_write(spec):
    with pytest.raises(ConfigError, match=f"{ENV_VAR}='{spec}' is not a crash point: write"):
        CrashPoint.parse(spec)


def test_other_phases_reach_the_callers_hook_and_set_the_current_round(tmp_path):
    crash = CrashPoint.parse("train-step:2:1")
    seen = []
    phase = crash.on_phase(lambda name, k: seen.append((name, k)))
    phase("generate", 1)
    phase("train", 2)
    assert seen == [("generate", 1), ("train", 2)] and crash.current_round == 2
    assert len(crash.trainer_callbacks()) == 1
    assert type(crash.run_directory(tmp_path)) is RunDirectory  # only a record point changes the writes


def test_a_record_point_writes_the_other_rounds_rows(tmp_path):
    run_dir = CrashPoint.parse("record:3").run_directory(tmp_path)
    run_dir.append_episode_row({"round": 0})
    assert run_dir.episode_rows() == [{"round": 0}]
    assert CrashPoint.parse("verify:1").trainer_callbacks() == []
