"""Learning by Teaching (M1 selection, ``agents.lbt``): one round end to end through the environment with a
real (plumbing) LoRA student — drafts, scores and selections written to the workspace, the scoring counted in
the ledger; the scores come back on resume without scoring again; an extra scoring student's scores are
averaged in and its work counted apart; and (slow, the quick-start tiny student)
the selection means something: from a source that plants wrong answers, the selected drafts are verified
correct more often than the unselected ones."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import numpy as np
import pytest

from run_cut import cut_after_round
from teachenv.agents.lbt import LbtConfig, LbtEngine, group_drafts, pick_best
from teachenv.agents.noisy_engine import PLANTED, NoisyConfig, NoisyEngine
from teachenv.core.config import apply_overrides
from teachenv.core.errors import ConfigError
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.core.run_dir import RunDirectory
from teachenv.envs.build import as_run_config
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.replay import EpisodeReplay
from teachenv.tasks.arith.task import ArithTask

LBT = ["agent.engine.name=lbt", "agent.engine.drafts=3", "agent.engine.probe_per_skill=4",
       "agent.engine.inner.name=noisy", "agent.engine.inner.wrong_share=0.5", "env.max_rounds=2"]
CONFIG = apply_overrides(PLUMBING_DEFAULTS, LBT)


def run_episode(run_dir: Path, replay: EpisodeReplay | None = None, config: dict = CONFIG):
    if replay is None:
        RunDirectory(run_dir).create("a config, as the CLI writes it\n")
    env = gymnasium.make("teachenv/SkillList-v0", config=as_run_config(config), run_dir=run_dir,
                         replay=replay).unwrapped
    _, info = env.reset(seed=3)
    done = False
    while not done:
        per_skill = config["env"]["examples_per_round"] // len(env.skills)
        action = np.full(len(env.skills), per_skill, dtype=np.int64)
        _, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    return env


def test_one_round_writes_drafts_scores_and_selections_and_counts_the_scoring(tmp_path: Path) -> None:
    env = run_episode(tmp_path / "run")
    agent = tmp_path / "run" / "rounds" / "1" / "agent"
    drafts = json.loads((agent / "lbt-drafts.json").read_text())
    scores = json.loads((agent / "lbt-scores.json").read_text())
    assert scores["signal"] == "influence" and len(scores["scores"]) == len(drafts)
    assert len({d["group"] for d in drafts}) == sum(d["selected"] for d in drafts)  # one pick per group
    assert len(drafts) == 3 * sum(d["selected"] for d in drafts)
    assert any(PLANTED in d["origin"] for d in drafts)
    assert len({round(d["score"], 12) for d in drafts}) > 1  # the scores tell drafts apart
    assert env.ledger.work["student_forward_passes"] > 0 and env.ledger.work["student_optimizer_steps"] > 0
    row = json.loads((tmp_path / "run" / "episode.jsonl").read_text().splitlines()[1])
    assert row["examples_accepted"] + sum(row["rejected_by_reason"].values()) == sum(d["selected"] for d in drafts)


def test_the_scores_come_back_on_resume_without_scoring_again(tmp_path: Path, monkeypatch) -> None:
    run_episode(tmp_path / "whole")
    cut = tmp_path / "cut"
    run_dir = cut_after_round(tmp_path / "whole", cut, 1)  # rounds 0 and 1
    calls = []
    score = LbtEngine.score
    monkeypatch.setattr(LbtEngine, "score", lambda self, drafts, seed: calls.append(1) or score(self, drafts, seed))
    run_episode(cut, EpisodeReplay(run_dir))
    assert len(calls) == 1  # round 2 only: round 1's scores were read back
    for k in (1, 2):
        for name in ("lbt-scores.json", "lbt-drafts.json"):
            assert (cut / "rounds" / str(k) / "agent" / name).read_bytes() == \
                (tmp_path / "whole" / "rounds" / str(k) / "agent" / name).read_bytes()


def test_two_students_score_every_draft_and_the_score_is_their_mean(tmp_path: Path) -> None:
    other = {**PLUMBING_DEFAULTS["student"], "tiny": {**PLUMBING_DEFAULTS["student"]["tiny"], "seed": 1}}
    env = run_episode(tmp_path / "run", config=apply_overrides(CONFIG, [
        f"agent.engine.students={json.dumps([other])}", "env.max_rounds=1"]))
    record = json.loads((tmp_path / "run" / "rounds" / "1" / "agent" / "lbt-scores.json").read_text())
    own, extra = record["per_student"]
    assert len(own) == len(extra) == len(record["scores"]) > 0
    assert record["scores"] == pytest.approx([(a + b) / 2 for a, b in zip(own, extra)])
    assert own != pytest.approx(extra)  # another base student: other scores
    work = env.ledger.work
    assert 0 < work["student_forward_passes/student1"] < work["student_forward_passes"]
    assert work["student_optimizer_steps/student1"] == len(extra)  # one influence step per draft


def test_groups_and_picks() -> None:
    task = ArithTask(ArithTask.Config(val_per_skill=4, test_per_skill=4))
    made = task.generate("add", 5, np.random.default_rng(0))
    twice = [made[0], made[0].model_copy(update={"completion": "0"}), *made[1:]]
    groups = group_drafts(twice, 2)
    assert groups[0] == groups[1] and groups[2] == groups[3] != groups[4] == groups[5] != groups[0]
    assert pick_best([0.1, 0.5, 0.2, -1.0, 0.3, 0.3], groups) == [False, True, True, False, True, False]


def test_bad_options_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="agent.engine.students.*surrogate"):
        LbtEngine(ArithTask(ArithTask.Config()), None, LbtConfig(students=[{"model": "surrogate"}]))
    with pytest.raises(ConfigError, match="agent.engine.inner"):
        NoisyEngine(ArithTask(ArithTask.Config()), None, NoisyConfig(inner={"name": "procedural", "bogus": 1}))


@pytest.mark.slow
@pytest.mark.parametrize("signal", ["influence"])
def test_selection_keeps_more_correct_answers_than_it_drops(signal: str, tiny_student_dir) -> None:
    """The quick-start tiny student (cached), one round's scoring of 30 drafts per skill, half planted wrong.
    (``tiny_student_dir`` builds it first with the default task, whose validation set its build report reads.)"""
    base = {**PLUMBING_DEFAULTS, "student": {"model": "tiny"}}
    config = apply_overrides(base, ["agent.engine.name=lbt",
                                                 f"agent.engine.signal={signal}", "agent.engine.drafts=2",
                                                 "agent.engine.inner.name=noisy",
                                                 "agent.engine.inner.wrong_share=0.5", "agent.engine.probe_per_skill=4"])
    env = gymnasium.make("teachenv/SkillList-v0", config=as_run_config(config)).unwrapped
    env.reset(seed=0)
    engine: LbtEngine = env.engine
    action = DataGenerationAction(requests=tuple(SkillRequest(skill=s, count=15) for s in ("add", "sub", "mul")))
    out = engine.generate(action, np.random.default_rng(1))
    rows = json.loads((env.workspace.folder() / "lbt-drafts.json").read_text())
    correct = {True: [], False: []}
    for row in rows:
        correct[row["selected"]].append(PLANTED not in row["origin"])
    assert len(out.candidates) == len(correct[True]) == 45
    print("correct share: selected", np.mean(correct[True]), "unselected", np.mean(correct[False]))
    assert np.mean(correct[True]) > np.mean(correct[False]) + 0.1
    env.close()


def test_no_skill_gets_more_than_it_asked_for_when_the_source_repeats_questions() -> None:
    from teachenv.agents.lbt import cap_per_skill

    task = ArithTask(ArithTask.Config(val_per_skill=4, test_per_skill=4))
    made = task.generate("add", 3, np.random.default_rng(0))
    drafts = [made[0], made[0], made[1], made[1], made[2]]  # repeats: three groups for two wanted examples
    chosen = pick_best([0.1, 0.2, 0.5, 0.4, 0.3], group_drafts(drafts, 2))
    assert sum(chosen) == 3
    assert cap_per_skill(chosen, [0.1, 0.2, 0.5, 0.4, 0.3], drafts, (SkillRequest(skill="add", count=2),)) == \
        [False, False, True, False, True]
