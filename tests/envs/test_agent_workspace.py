"""An agent that keeps memory across rounds gets it back on resume through its workspace alone.

``NoteTakingEngine`` stands for the agents that learn from the student (scores from forward passes,
a teacher adapter trained each round): each round it memoizes a note computed from the student's
current state (counting work in the ledger), a folder artefact, and remembers every note so far. A run
cut after round 2 and resumed must end with the same memory, the same ledger and the same records
as an uninterrupted run — while the resumed run computes only the rounds that had not finished.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from teachenv.core.config import apply_overrides
from teachenv.core.errors import RunDirectoryError
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.core.run_dir import RunDirectory, atomic_write_jsonl
from teachenv.envs.data_engine import DataEngine, EngineOutput
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.replay import EpisodeReplay
from tests.envs.memory_student import make_env

ROUNDS = 4


class NoteTakingEngine(DataEngine):
    name = "note-taking"

    def __init__(self, inner: DataEngine) -> None:
        super().__init__(inner.task, inner.ledger)
        self.inner = inner
        self.computed_rounds: list[int] = []
        self.memory: list[dict] = []

    def attach(self, env) -> None:
        self.env = env

    def reset(self) -> None:
        self.inner.reset()
        self.memory = []

    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        workspace = self.env.workspace

        def score() -> dict:  # depends on the student's weights now: a replay could not recompute it
            self.computed_rounds.append(workspace.round)
            self.env.ledger.add_work("student_forward_passes", 3)
            return {"round": workspace.round, "known": sorted(s for s in self.task.skills if self.env.student.knows(s))}

        note = workspace.memo_json("note", score)
        folder = workspace.memo_dir("adapter", lambda path: (path.mkdir(), (path / "weights.txt").write_text(str(note))))
        assert (folder / "weights.txt").read_text() == str(note)
        self.memory.append(note)
        workspace.write_json("memory", self.memory)
        return self.inner.generate(action, rng)


CONFIG = apply_overrides(PLUMBING_DEFAULTS, [f"env.max_rounds={ROUNDS}", "budget.examples=null"])


def note_taking_env(run_dir: Path | None, replay: EpisodeReplay | None = None):
    if run_dir is not None and replay is None:
        RunDirectory(run_dir).create("a config, as the CLI writes it\n")
    env = make_env("teachenv/SkillList-v0", CONFIG, run_dir=run_dir, replay=replay)
    env.engine = NoteTakingEngine(env.engine)
    env.engine.attach(env)
    return env


def play(env) -> None:
    env.reset(seed=3)
    skills = env.skills
    for k in range(1, ROUNDS + 1):
        requests = (SkillRequest(skill=skills[k % len(skills)], count=4),)
        env.step(DataGenerationAction(requests=requests))


def rows(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "timings"}
            for line in (run_dir / "episode.jsonl").read_text().splitlines()]


def test_resumed_agent_memory_costs_and_records_equal_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = note_taking_env(tmp_path / "whole")
    play(whole)
    assert whole.engine.computed_rounds == [1, 2, 3, 4]
    assert whole.ledger.work == {"student_forward_passes": 12}

    # The same run, killed after round 2's row: rounds 3 and 4 never finished.
    cut = tmp_path / "cut"
    shutil.copytree(tmp_path / "whole", cut)
    atomic_write_jsonl(cut / "episode.jsonl", rows(cut)[:3])
    run_dir = RunDirectory(cut)
    assert run_dir.prepare_resume(run_dir.config_path.read_text())
    assert not (cut / "rounds" / "3").exists()

    resumed = note_taking_env(cut, EpisodeReplay(run_dir))
    play(resumed)
    assert resumed.engine.computed_rounds == [3, 4]  # rounds 1-2 read back, not recomputed
    assert resumed.engine.memory == whole.engine.memory
    assert resumed.ledger.work == whole.ledger.work  # the replayed rounds' work is counted again
    assert rows(cut) == rows(tmp_path / "whole")
    for k in range(1, ROUNDS + 1):
        for name in ("note.json", "memory.json", "adapter/weights.txt"):
            assert (cut / "rounds" / str(k) / "agent" / name).read_bytes() == \
                (tmp_path / "whole" / "rounds" / str(k) / "agent" / name).read_bytes()


def test_a_replayed_round_without_its_artefact_is_refused_not_recomputed(tmp_path: Path) -> None:
    whole = note_taking_env(tmp_path / "run")
    play(whole)
    run_dir = RunDirectory(tmp_path / "run")
    atomic_write_jsonl(run_dir.episode_path, rows(tmp_path / "run")[:3])
    assert run_dir.prepare_resume(run_dir.config_path.read_text())
    (tmp_path / "run" / "rounds" / "2" / "agent" / "note.json").unlink()
    resumed = note_taking_env(tmp_path / "run", EpisodeReplay(run_dir))
    with pytest.raises(RunDirectoryError, match=r"round 2 .*note\.json.* is missing"):
        play(resumed)
    assert resumed.engine.computed_rounds == []


def test_in_memory_artefacts_live_in_a_temporary_folder_removed_at_close() -> None:
    env = note_taking_env(None)
    play(env)
    folder = env.workspace.folder(1)
    assert (folder / "note.json").is_file()
    env.close()
    assert not folder.exists()
