"""LbT M2 (``agents.lbt`` with ``m2``): the tiny teacher drafts through engine ``llm``, the (plumbing) student
scores the drafts, the teacher is aligned with DPO on each group's best-vs-worst drafts and the aligned adapter
drafts the next round; a resume after a cut reads the pairs and adapter back and ends with the same adapter; a
draft source that cannot be aligned is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import numpy as np
import pytest

from run_cut import cut_after_round
from teachenv.agents.lbt import LbtConfig, LbtEngine
from teachenv.core.config import apply_overrides
from teachenv.core.errors import ConfigError
from teachenv.core.run_dir import RunDirectory
from teachenv.envs.build import as_run_config
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.replay import EpisodeReplay
from teachenv.tasks.arith.task import ArithTask
from teachenv.teacher.backend import adapter_hash

from tests.teacher.tiny_recipe import TEST_RECIPE

TEACHER = {"name": "tiny-teacher", "recipe": TEST_RECIPE.model_dump(mode="json")}


def config(cache: Path) -> dict:
    return apply_overrides(PLUMBING_DEFAULTS, [
        f"agent.teacher={json.dumps(TEACHER)}", f"agent.cache.path={cache}", "env.max_rounds=2",
        "env.examples_per_round=24", "agent.engine.name=lbt", "agent.engine.drafts=3",
        "agent.engine.probe_per_skill=4", "agent.engine.inner.name=llm", "agent.engine.inner.temperature=1.0",
        "agent.engine.inner.examples_per_call=24", 'agent.engine.m2={"margin": 0.0, "align": {"steps": 2, "batch_size": 4}}'])


def run_episode(run_dir: Path, cache: Path, replay: EpisodeReplay | None = None):
    if replay is None:
        RunDirectory(run_dir).create("a config, as the CLI writes it\n")
    env = gymnasium.make("teachenv/SkillList-v0", config=as_run_config(config(cache)), run_dir=run_dir,
                         replay=replay).unwrapped
    env.reset(seed=3)
    done = False
    while not done:
        action = np.full(len(env.skills), 24 // len(env.skills), dtype=np.int64)
        _, _, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
    return env


def test_the_teacher_is_aligned_on_scored_pairs_and_drafts_the_next_round(tmp_path: Path) -> None:
    env = run_episode(tmp_path / "run", tmp_path / "cache.sqlite")
    rounds = tmp_path / "run" / "rounds"
    pairs = [json.loads(line) for line in (rounds / "1" / "agent" / "lbt-pairs.jsonl").read_text().splitlines()]
    assert pairs and all(p["chosen_score"] > p["rejected_score"] and p["chosen"] != p["rejected"] for p in pairs)
    assert all(p["prompt"].startswith("W ") for p in pairs)  # the tiny teacher's own writing prompt
    first = adapter_hash(rounds / "1" / "agent" / "lbt-teacher-adapter")
    m2 = [json.loads((rounds / str(k) / "agent" / "lbt-m2.json").read_text()) for k in (1, 2)]
    assert m2[0]["drafted_by"] == "base" and m2[0]["drafts_next"] == first
    assert m2[1]["drafted_by"] == first  # round 2's drafts were sampled from round 1's adapter
    assert env.ledger.work["teacher_dpo_steps"] == 2 * sum(m["pairs"] > 0 for m in m2)
    drafts = json.loads((rounds / "2" / "agent" / "lbt-drafts.json").read_text())
    assert drafts and all(d["origin"].startswith("llm") for d in drafts)


def test_a_resume_after_a_cut_ends_with_the_same_adapter(tmp_path: Path) -> None:
    run_episode(tmp_path / "whole", tmp_path / "whole.sqlite")
    cut = tmp_path / "cut"
    run_dir = cut_after_round(tmp_path / "whole", cut, 1)
    run_episode(cut, tmp_path / "cut.sqlite", EpisodeReplay(run_dir))
    for k in (1, 2):
        agent, whole = cut / "rounds" / str(k) / "agent", tmp_path / "whole" / "rounds" / str(k) / "agent"
        assert (agent / "lbt-pairs.jsonl").read_bytes() == (whole / "lbt-pairs.jsonl").read_bytes()
        assert (agent / "lbt-m2.json").read_bytes() == (whole / "lbt-m2.json").read_bytes()
        if (whole / "lbt-teacher-adapter").exists():
            assert adapter_hash(agent / "lbt-teacher-adapter") == adapter_hash(whole / "lbt-teacher-adapter")


def test_m2_without_an_alignable_draft_source_is_a_clear_error() -> None:
    task = ArithTask(ArithTask.Config())
    with pytest.raises(ConfigError, match="tiny-teacher"):
        LbtEngine(task, None, LbtConfig(m2={}, inner={"name": "noisy"}))  # no teacher at all
    from teachenv.teacher.backend import TinyTeacherBackend, TinyTeacherConfig

    teacher = TinyTeacherBackend(TinyTeacherConfig(recipe=TEST_RECIPE), task)
    with pytest.raises(ConfigError, match="inner.name: llm"):  # a teacher that can learn, but it does not draft
        LbtEngine(task, None, LbtConfig(m2={}, inner={"name": "noisy"}), teacher=teacher)
