"""Finding run directories under a folder and reading each into one typed ``RunRecord``.

A run directory holds ``config.yaml`` and ``episode.jsonl`` (see ``teachenv.core.run_dir``). The
benchmark runner (``teachenv.bench.runner``) also writes ``bench.json`` (the labels, before the
episode starts: a cell of a suite that never ran is listed too) and ``error.json`` for a failed
attempt; as there, a run is finished iff ``summary.json`` exists. This module owns the reading of
those files and the labels of a run (agent, environment, seeds, status).
It computes no statistics and knows nothing of tables or plots: ``teachenv.bench.leaderboard`` does.
"""

from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field

from teachenv.core.errors import RunDirectoryError, TeachEnvError
from teachenv.core.records import Record
from teachenv.core.run_dir import read_jsonl

#: The base models teachenv builds locally; their pretraining seed is ``student.tiny.seed``
#: (``student.tiny_vlm.seed`` for tasks with images).
LOCAL_STUDENTS = ("tiny", "plumbing")


class RunStatus(str, Enum):
    finished = "finished"  # summary.json written: the episode reached its end
    unfinished = "unfinished"  # killed, still running or not started: no summary yet
    failed = "failed"  # no summary and an error.json from the benchmark runner, or files that cannot be read


class RunRecord(Record):
    """What the leaderboard needs of one run directory."""

    path: Path = Field(description="The run directory.")
    name: str = Field(description="Its path relative to the scanned folder (a label for tables and plots).")
    suite: str | None = Field(None, description="The benchmark suite (bench.json), if any.")
    agent: str
    environment: str
    seed: int | None = Field(description="Episode seed (config `seed`).")
    student: str = Field("?", description="Base student model (config `student.model`).")
    student_seed: int | None = Field(
        None, description="Pretraining seed of a locally built base student; None for a Hugging Face model.")
    student_seed_key: str | None = Field(
        None, description="The config key it comes from: student.tiny.seed, or student.tiny_vlm.seed for a task "
        "with images.")
    status: RunStatus
    error: str | None = Field(None, description="Why the run failed (error.json, or the unreadable file).")
    val_curve: tuple[float, ...] = Field((), description="Validation accuracy per round, round 0 = after reset.")
    val_curve_by_skill: dict[str, tuple[float, ...]] = Field(default_factory=dict)
    test_start: float | None = None
    test_end: float | None = None
    examples_generated: int = 0
    examples_accepted: int = 0
    teacher_tokens: int = 0
    dollars: float = 0.0
    seconds: float | None = Field(None, description="Wall seconds of the episode (summary.json).")
    started_at: float | None = Field(
        None, description="When the benchmark first started the episode, Unix seconds (bench.json); None if unknown.")

    @property
    def rounds(self) -> int:
        return max(len(self.val_curve) - 1, 0)

    @property
    def test_gain(self) -> float | None:
        if self.test_start is None or self.test_end is None:
            return None
        return self.test_end - self.test_start

    @property
    def pair_key(self) -> tuple[int | None, int | None]:
        """Two runs of different agents are a pair when both seeds match: the episode's and the base student's."""
        return self.seed, self.student_seed


def find_run_dirs(root: Path) -> list[Path]:
    """Run directories under ``root`` (``root`` itself included), sorted; a run's own sub-folders are not searched."""
    found: list[Path] = []
    for folder, subdirs, files in os.walk(root):
        names = set(files)
        if ("config.yaml" in names and "episode.jsonl" in names) or names & {"error.json", "bench.json"}:
            found.append(Path(folder))
            subdirs.clear()
        else:
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
    return sorted(found)


def load_runs(root: str | Path) -> list[RunRecord]:
    """Every run under ``root``, read into records; raises when there is none."""
    root = Path(root)
    if not root.is_dir():
        raise RunDirectoryError(f"{str(root)!r} is not a directory; pass the folder that holds run directories.")
    runs = [read_run(path, root) for path in find_run_dirs(root)]
    if not runs:
        raise RunDirectoryError(
            f"No run directories under {str(root)!r}: a run directory holds config.yaml and episode.jsonl "
            f"(written by `teachenv run` or `teachenv bench`)."
        )
    return runs


def read_run(path: Path, root: Path | None = None) -> RunRecord:
    """One run directory as a record. Files that cannot be read or lack a documented field make a failed
    record that says so, not a crash: one bad run must not hide the others."""
    name = path.relative_to(root).as_posix() if root is not None and path != root else path.name
    try:
        return _parse_run(path, name)
    # json.JSONDecodeError and pydantic's ValidationError are ValueErrors; KeyError / TypeError: a field
    # missing or of the wrong kind in an otherwise well-formed file.
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        return RunRecord(path=path, name=name, agent="?", environment="?", seed=None, status=RunStatus.failed,
                         error=f"unreadable run directory ({type(exc).__name__}: {exc})")


def _parse_run(path: Path, name: str) -> RunRecord:
    # Before the episode writes its resolved config.yaml, the runner's copy of it is all there is.
    config_path = next((p for p in (path / "config.yaml", path / "bench-config.yaml") if p.exists()), None)
    config = _read_yaml(config_path) if config_path is not None else {}
    bench = _read_json(path / "bench.json")
    error = _read_json(path / "error.json")
    summary = _read_json(path / "summary.json")
    rows = read_jsonl(path / "episode.jsonl")
    labels = _labels(config, bench or {})
    if summary is not None:
        status, reason = RunStatus.finished, None
    elif error is not None:
        status, reason = RunStatus.failed, str(error.get("error", error))
    else:
        status, reason = RunStatus.unfinished, None
    skills = list(rows[0].get("val_accuracy_by_skill", {})) if rows else []
    last_cost = (summary or {}).get("cost") or (rows[-1].get("cost", {}) if rows else {})
    return RunRecord(
        path=path, name=name, status=status, error=reason, **labels,
        val_curve=tuple(float(r["val_accuracy"]) for r in rows),
        val_curve_by_skill={s: tuple(float(r["val_accuracy_by_skill"].get(s, float("nan"))) for r in rows)
                            for s in skills},
        test_start=_test_accuracy(summary, rows, "start"),
        test_end=_test_accuracy(summary, rows, "end"),
        examples_generated=int(last_cost.get("examples_generated", 0)),
        examples_accepted=int(last_cost.get("examples_accepted", 0)),
        teacher_tokens=int(last_cost.get("teacher_tokens", 0)),
        dollars=float(last_cost.get("dollars", 0.0)),
        seconds=(summary or {}).get("seconds"),
    )


def _labels(config: dict[str, Any], bench: dict[str, Any]) -> dict[str, Any]:
    """Agent, environment and seeds: bench.json's labels when present, else derived from the config."""
    agent_cfg = config.get("agent") or {}
    policy = (agent_cfg.get("policy") or {}).get("name", "?")
    engine = (agent_cfg.get("engine") or {}).get("name", "procedural")
    agent = policy if engine == "procedural" else f"{policy}+{engine}"
    env_id = (config.get("env") or {}).get("id", "?")
    task = (config.get("task") or {}).get("name", "?")
    student = config.get("student") or {}
    model = str(student.get("model", "?"))
    student_seed = student_seed_key = None
    if model in LOCAL_STUDENTS:
        recipe = "tiny_vlm" if _task_modality(task) == "image" else "tiny"
        student_seed, student_seed_key = int((student.get(recipe) or {}).get("seed", 0)), f"student.{recipe}.seed"
    seed = bench.get("seed", config.get("seed"))
    return {
        "suite": bench.get("suite"),
        "agent": str(bench.get("agent") or agent),
        "environment": str(bench.get("environment") or f"{env_id} · {task}"),
        "seed": None if seed is None else int(seed),
        "started_at": bench.get("started_at"),
        "student": model,
        "student_seed": student_seed,
        "student_seed_key": student_seed_key,
    }


def _task_modality(name: str) -> str:
    """``image`` or ``text`` from the registered task class (a cheap import); ``text`` for a task not
    registered here, e.g. from a package this environment lacks."""
    from teachenv.core import registry

    try:
        return registry.tasks.get(name).modality
    except (TeachEnvError, ImportError):
        return "text"


def _test_accuracy(summary: dict[str, Any] | None, rows: list[dict[str, Any]], end: str) -> float | None:
    if summary is not None and isinstance(summary.get("test_accuracy"), dict):
        value = summary["test_accuracy"].get(end)
        return None if value is None else float(value)
    row = (rows[0] if end == "start" else rows[-1]) if rows else {}
    value = row.get("test_accuracy")
    return None if value is None else float(value)


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return data
