"""What `teachenv` prints into a pipe: whole lines whatever the width, and one line per mistake.

Every command runs in a subprocess with stdout and stderr piped, ``COLUMNS=40`` and run paths of
150+ characters: where rich would hard-wrap, a message or a path would break in two.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from teachenv.envs.defaults import PLUMBING_DEFAULTS

NARROW = {**os.environ, "COLUMNS": "40", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def long_folder(tmp_path: Path) -> Path:
    """A folder whose path is at least 150 characters long."""
    folder = tmp_path / ("long-" + "x" * max(1, 150 - len(str(tmp_path))))
    folder.mkdir()
    assert len(str(folder)) >= 150
    return folder


def teachenv(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "teachenv.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=NARROW)


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_no_message_is_broken_across_lines_in_a_narrow_pipe(tmp_path):
    folder = long_folder(tmp_path)
    config = folder / "plumbing.yaml"
    config.write_text(yaml.safe_dump({**PLUMBING_DEFAULTS, "runs_dir": str(folder / "runs")}))
    root = str(folder / "runs" / "a")
    first = finish(teachenv("run", str(config), "--name", "a"))
    assert first.returncode == 0, first.stderr
    again = finish(teachenv("run", str(config), "--name", "a"))
    resumed = finish(teachenv("run", str(config), "--name", "a", "--resume"))
    text = "\n".join(p.stdout + p.stderr for p in (first, again, resumed))
    # Wherever the run's path starts, it is whole: a wrapped path would start and not finish on a line.
    assert text.count(root[:40]) == text.count(root) >= 4

    def line_with(output: str, *parts: str) -> str:
        lines = [line for line in output.splitlines() if all(part in line for part in parts)]
        assert lines, f"no line holds all of {parts} in:\n{output}"
        return lines[0]

    line_with(first.stdout, "teachenv run a", root, "(seed 0)")
    line_with(first.stdout, "examples generated", "peak memory", "MiB")
    assert again.returncode == 2 and again.stderr.count("\n") == 1
    line_with(again.stderr, "error:", root, "--resume", "--overwrite", "--name to pick another name.")
    assert resumed.returncode == 0
    line_with(resumed.stderr, root, "already finished; nothing to resume.")


def test_every_config_mistake_is_one_line_on_stderr_exit_2_and_leaves_no_run_directory(tmp_path):
    folder = long_folder(tmp_path)
    config = folder / "plumbing.yaml"
    runs = folder / "runs"
    config.write_text(yaml.safe_dump({**PLUMBING_DEFAULTS, "runs_dir": str(runs)}))
    missing = folder / "nothing-here"
    # (arguments after `teachenv run`, what the one line must name)
    mistakes: dict[str, tuple[list[str], list[str]]] = {
        "misspelt env id": (["--set", "env.id=teachenv/SkillLst-v0"], ["'teachenv/SkillLst-v0'", "'teachenv/SkillList-v0'"]),
        "env id without namespace": (["--set", "env.id=SkillList-v0"], ["'SkillList-v0'", "'teachenv/SkillList-v0'"]),
        "unknown task": (["--set", "task.name=arth"], ["task.name", "'arth'", "'arith'"]),
        "unknown engine": (["--set", "agent.engine.name=procedurl"], ["agent.engine.name", "'procedural'"]),
        "unknown policy": (["--set", "agent.policy.name=weakest"], ["agent.policy.name", "'weakest-skill'"]),
        "unknown backend": (["--set", "agent.teacher={name: opnai}"], ["agent.teacher.name", "'openai'"]),
        "bad model path": (["--set", f"student.model={missing}"], ["student.model", str(missing)]),
        "llm engine without a teacher": (["--set", "agent.engine.name=llm"], ["agent.teacher"]),
        "unreadable data source": (["--set", f"task={{name: gsm8k, source: {missing}.jsonl}}"],
                                   ["task.source", f"{missing}.jsonl"]),
        "unknown key": (["--set", "student.lora.rank=4"], ["student.lora.rank", "Extra inputs"]),
        "malformed --set": (["--set", "student.lora.r"], ["'student.lora.r'", "key.path=value"]),
        "both --overwrite and --resume": (["--overwrite", "--resume"], ["--overwrite", "--resume"]),
    }
    running = {label: teachenv("run", str(config), "--name", "x", *args) for label, (args, _) in mistakes.items()}
    running["a folder"] = teachenv("run", str(folder))
    running["a missing file"] = teachenv("run", str(missing))
    mistakes["a folder"] = ([], [str(folder), "is a folder"])
    mistakes["a missing file"] = ([], [str(missing), "does not exist"])
    for label, process in running.items():
        done = finish(process)
        lines = done.stderr.splitlines()
        assert done.returncode == 2 and len(lines) == 1, f"{label}: exit {done.returncode}, stderr:\n{done.stderr}"
        assert lines[0].startswith("error: "), f"{label}: {lines[0]}"
        for part in mistakes[label][1]:
            assert part in lines[0], f"{label}: {part!r} not in {lines[0]!r}"
        assert not runs.exists() or not any(runs.iterdir()), f"{label} left {sorted(runs.iterdir())}"
