"""`teachenv serve` through OpenEnv: a real server on 127.0.0.1 in its own process, a real WebSocket client.
An episode over the wire writes the same episode.jsonl as the same actions in-process (timings aside),
the handle returns the same arrays and typed records, and bad actions raise the same typed errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import gymnasium

from teachenv.core.errors import InvalidActionError
from teachenv.envs.defaults import PLUMBING_DEFAULTS

pytest.importorskip("openenv", reason="openenv-core is not installed: pip install 'teachenv[openenv]'")

from teachenv.envs.state import EnvState  # noqa: E402
from teachenv.openenv import connect  # noqa: E402

ACTIONS = [[8, 8, 0, 4, 4], [0, 0, 8, 8, 8], [2, 2, 2, 2, 2]]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "COLUMNS": "200"}
IN_PROCESS = textwrap.dedent("""
    import json, sys, gymnasium, numpy as np, teachenv
    config, run_dir = sys.argv[1], sys.argv[2]
    env = gymnasium.make("teachenv/SkillList-v0", config=config, run_dir=run_dir)
    env.reset(seed=3)
    for action in json.loads(sys.argv[3]):
        env.step(np.asarray(action, dtype=np.int64))
    env.close()
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rows(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "timings"}
            for line in (run_dir / "episode.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``teachenv serve`` of the cheap default config on a free port; yields (url, runs dir, config path)."""
    folder = tmp_path_factory.mktemp("serve")
    config = folder / "cheap.yaml"
    config.write_text(yaml.safe_dump({**PLUMBING_DEFAULTS, "runs_dir": str(folder / "runs"), "name": "served"}))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "teachenv.cli.main", "serve", str(config), "--port", str(port)],
                               env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", folder, config
    process.terminate()
    process.wait(timeout=30)


def test_an_episode_over_the_wire_writes_the_same_log_as_in_process(server):
    url, folder, config = server
    with connect(url) as env:
        obs, info = env.reset(seed=3)
        assert isinstance(info["state"], EnvState) and info["state"].round == 0
        assert isinstance(obs["val_accuracy"], np.ndarray) and obs["val_accuracy"].dtype == np.float32
        assert "skill | val accuracy | examples trained" in info["state"].to_text()
        steps = [env.step(np.asarray(action, dtype=np.int64)) for action in ACTIONS]
        assert env.state().step_count == 3
    *_, (_, reward, terminated, truncated, last) = steps
    assert terminated and not truncated and "test_accuracy" in last
    assert last["round_result"].round == 3 and reward == pytest.approx(last["round_result"].reward)
    reference = folder / "in-process"
    done = subprocess.run([sys.executable, "-c", IN_PROCESS, str(config), str(reference), json.dumps(ACTIONS)],
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    served = rows(folder / "runs" / "served")
    assert [row["round"] for row in served] == [0, 1, 2, 3]
    assert served == rows(reference)


def test_bad_actions_over_the_wire_raise_the_same_typed_errors(server):
    url, *_ = server
    with connect(url) as env:
        with pytest.raises(gymnasium.error.ResetNeeded, match="before calling env.reset"):  # as in-process
            env.step(np.asarray(ACTIONS[0], dtype=np.int64))
        env.reset(seed=0)
        with pytest.raises(InvalidActionError, match="outside") as outside:
            env.step(np.asarray([99, 0, 0, 0, 0], dtype=np.int64))
        with pytest.raises(InvalidActionError):
            env.step("a plan is not a skill-list action")
        # One session per server: a second client is turned away while the first is connected.
        with pytest.raises(ConnectionError, match="one session at a time"), connect(url) as second:
            second.reset(seed=0)
    import teachenv  # noqa: F401

    local = gymnasium.make("teachenv/SkillList-v0", plumbing=True)  # the config the server runs
    local.reset(seed=0)
    with pytest.raises(InvalidActionError) as in_process:
        local.step(np.asarray([99, 0, 0, 0, 0], dtype=np.int64))
    assert str(outside.value) == str(in_process.value)  # the same message, word for word
