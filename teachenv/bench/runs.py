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

from teachenv.core.config import RunConfig
from teachenv.core.errors import RunDirectoryError, TeachEnvError
from teachenv.core.records import EpisodeRow, Record
from teachenv.core.run_dir import read_jsonl
from teachenv.core.run_summary import RunSummary

#: The base models teachenv builds locally; their pretraining seed is ``student.tiny.seed``
#: (``student.tiny_vlm.seed`` for tasks with images, ``student.tiny_context.seed`` for ``tiny-context``).
LOCAL_STUDENTS = ("tiny", "plumbing", "tiny-context")


BENCH_FILE = "bench.json"


class BenchCell(Record):
    """``bench.json``: which cell of which suite a run directory is (written by ``teachenv bench`` before
    the episode starts, so a cell that never ran is listed too)."""

    suite: str
    agent: str
    environment: str
    seed: int
    started_at: float | None = Field(
        None, description="When the benchmark first started the episode, Unix seconds (None: unknown); the "
        "suite's pre-registered claims count only runs started after them.")

    @classmethod
    def read(cls, path: Path) -> BenchCell:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


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
    student: str | None = Field(None, description="Base student model (config `student.model`; None: no config yet).")
    student_seed: int | None = Field(
        None, description="Pretraining seed of a locally built base student; None for a Hugging Face model.")
    student_seed_key: str | None = Field(
        None, description="The config key it comes from: student.tiny.seed, student.tiny_vlm.seed for a task "
        "with images, or student.tiny_context.seed for tiny-context.")
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
    config = RunConfig.model_validate(_read_yaml(config_path)) if config_path is not None else None
    bench = BenchCell.read(path / BENCH_FILE) if (path / BENCH_FILE).exists() else None
    error = _read_json(path / "error.json")
    summary = RunSummary.read(path / "summary.json") if (path / "summary.json").exists() else None
    rows = [EpisodeRow.model_validate(row) for row in read_jsonl(path / "episode.jsonl")]
    if summary is not None:
        status, reason = RunStatus.finished, None
    elif error is not None:
        status, reason = RunStatus.failed, str(error.get("error", error))
    else:
        status, reason = RunStatus.unfinished, None
    skills = list(rows[0].val_accuracy_by_skill) if rows else []
    last_cost = summary.cost if summary is not None else (rows[-1].cost if rows else None)
    return RunRecord(
        path=path, name=name, status=status, error=reason, **_labels(config, bench, path),
        val_curve=tuple(r.val_accuracy for r in rows),
        val_curve_by_skill={s: tuple(r.val_accuracy_by_skill.get(s, float("nan")) for r in rows) for s in skills},
        test_start=summary.test_accuracy.start if summary is not None else (rows[0].test_accuracy if rows else None),
        test_end=summary.test_accuracy.end if summary is not None else (rows[-1].test_accuracy if rows else None),
        examples_generated=last_cost.examples_generated if last_cost else 0,
        examples_accepted=last_cost.examples_accepted if last_cost else 0,
        teacher_tokens=last_cost.teacher_tokens if last_cost else 0,
        dollars=last_cost.dollars if last_cost else 0.0,
        seconds=summary.seconds if summary is not None else None,
    )


def _labels(config: RunConfig | None, bench: BenchCell | None, path: Path) -> dict[str, Any]:
    """Agent, environment and seeds: bench.json's labels when present, else derived from the config."""
    if config is None:
        if bench is None:
            raise ValueError(f"neither a config.yaml nor a {BENCH_FILE} says which agent ran in {path}")
        return {"suite": bench.suite, "agent": bench.agent, "environment": bench.environment, "seed": bench.seed,
                "started_at": bench.started_at}
    agent = config.agent.policy.name
    if config.agent.engine.name != "procedural":
        agent = f"{agent}+{config.agent.engine.name}"
    student_seed = student_seed_key = None
    if config.student.model in LOCAL_STUDENTS:
        field = student_recipe_field(config.student.model, _task_modality(config.task.name))
        student_seed, student_seed_key = getattr(config.student, field).seed, f"student.{field}.seed"
    return {
        "suite": bench.suite if bench else None,
        "agent": bench.agent if bench else agent,
        "environment": bench.environment if bench else f"{config.env.id} · {config.task.name}",
        "seed": bench.seed if bench else config.seed,
        "started_at": bench.started_at if bench else None,
        "student": config.student.model,
        "student_seed": student_seed,
        "student_seed_key": student_seed_key,
    }


def student_recipe_field(model: str, modality: str) -> str:
    """The ``student`` field holding the recipe of a locally built base student (see ``LOCAL_STUDENTS``)."""
    if model == "tiny-context":
        return "tiny_context"
    return "tiny_vlm" if modality == "image" else "tiny"


def _task_modality(name: str) -> str:
    """``image`` or ``text`` from the registered task class (a cheap import); ``text`` for a task not
    registered here, e.g. from a package this environment lacks."""
    from teachenv.core import registry

    try:
        return registry.tasks.get(name).modality
    except (TeachEnvError, ImportError):
        return "text"


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return data
