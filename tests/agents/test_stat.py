"""STAT: the missing-skill labeller, the profile the agent records each round, STAT-Syn's requests, and the
profile's return on resume (through the agent workspace), with the in-memory student."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from run_cut import cut_after_round
from teachenv.agents.stat import StatConfig, StatSynPolicy, syn_requests
from teachenv.agents.stat_labeller import (
    ProceduralLabeller, WrongAnswer, agreement, parse_label, subskill_labels, true_labels,
)
from teachenv.core.config import apply_overrides
from teachenv.core.run_dir import RunDirectory
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.replay import EpisodeReplay
from teachenv.tasks.arith.diagnosis import diagnose
from teachenv.tasks.arith.task import ArithTask
from tests.envs.memory_student import make_env

ROUNDS = 3
CONFIG = apply_overrides(PLUMBING_DEFAULTS, [f"env.max_rounds={ROUNDS}", "budget.examples=null",
                                             "task.val_per_skill=20"])


def test_diagnosis_reads_the_subskill_from_the_question_and_the_slip_from_the_answers() -> None:
    found = diagnose("47+38=", "75", "85")
    assert (found.skill, found.params, found.slip) == ("add-carry", {"carries": 1}, "dropped-carry")
    found = diagnose("52-17=", "45", "35")
    assert (found.skill, found.params, found.slip) == ("sub", {"borrows": 1}, "dropped-borrow")
    assert diagnose("47*6=", "", "282").slip == "no-answer"
    assert diagnose("what is 2+2?", "4", "4") is None


def test_procedural_labels_agree_with_the_stored_subskills_it_never_reads() -> None:
    task = ArithTask(ArithTask.Config(val_per_skill=40))
    val = task.load("val")
    wrong = [WrongAnswer(example_id=e.id, question=e.prompt, answer="0", gold=e.answer) for e in val]
    labels = ProceduralLabeller(task).label(wrong, seed=0)
    assert agreement(labels, true_labels(task, val)) >= 0.9
    known = {name for names in subskill_labels(task).values() for name in names}
    assert {label.label for label in labels} <= known


def test_syn_requests_follow_the_profile_with_a_replay_share() -> None:
    skills = ("add", "add-carry", "sub", "mul", "max")
    requests = syn_requests({"sub/borrows=1": 3, "add-carry/carries=2": 1}, skills, 100, 0.2)
    by_key = {(r.skill, tuple(r.params.items())): r.count for r in requests}
    assert by_key[("sub", (("borrows", 1),))] == 60 and by_key[("add-carry", (("carries", 2),))] == 20
    assert all(by_key[(s, ())] == 4 for s in skills)
    assert sum(r.count for r in syn_requests({}, skills, 10, 0.2)) == 10  # nothing wrong: evenly
    assert parse_label("mul/multiplier=7") == ("mul", {"multiplier": 7})


def play(env, policy: StatSynPolicy) -> None:
    policy.attach(env)
    policy.reset(5)
    _, info = env.reset(seed=3)
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(policy.act(info["state"]))
        done = terminated or truncated


class CountingLabeller(ProceduralLabeller):
    def __init__(self, task) -> None:
        super().__init__(task)
        self.calls = 0

    def label(self, wrong, seed):
        self.calls += 1
        return super().label(wrong, seed)


def stat_env(run_dir: Path, replay: EpisodeReplay | None = None):
    if replay is None:
        RunDirectory(run_dir).create("a config, as the CLI writes it\n")
    env = make_env("teachenv/SkillList-v0", CONFIG, run_dir=run_dir, replay=replay)
    policy = StatSynPolicy(StatConfig())
    policy.attach(env)
    policy.labeller = CountingLabeller(env.task)
    policy.attach = lambda env: None  # keep the counting labeller
    return env, policy


def test_the_profile_is_recorded_each_round_and_asks_for_the_missing_subskills(tmp_path: Path) -> None:
    env, policy = stat_env(tmp_path / "run")
    play(env, policy)
    first = json.loads((tmp_path / "run" / "rounds" / "1" / "agent" / "stat-profile.json").read_text())
    assert first["wrong"] == 5 * 20 and first["unlabelled"] == 0  # the memory student knows nothing at first
    assert first["profile"] == {k: v for k, v in first["profile"].items() if v > 0}
    assert sum(first["profile"].values()) == first["wrong"]
    history = json.loads((tmp_path / "run" / "rounds" / str(ROUNDS) / "agent" / "stat-history.json").read_text())
    assert [h["round"] for h in history] == list(range(1, ROUNDS + 1))
    row = json.loads((tmp_path / "run" / "episode.jsonl").read_text().splitlines()[1])
    assert sum(row["requested"].values()) == CONFIG["env"]["examples_per_round"]


def test_the_profile_and_history_come_back_on_resume_without_labelling_again(tmp_path: Path) -> None:
    whole_env, whole = stat_env(tmp_path / "whole")
    play(whole_env, whole)
    assert whole.labeller.calls == ROUNDS
    cut = tmp_path / "cut"
    run_dir = cut_after_round(tmp_path / "whole", cut, 1)  # rounds 0 and 1
    resumed_env, resumed = stat_env(cut, EpisodeReplay(run_dir))
    play(resumed_env, resumed)
    assert resumed.labeller.calls == ROUNDS - 1  # round 1's profile read back
    assert resumed.history == whole.history
    for k in range(1, ROUNDS + 1):
        for name in ("stat-profile.json", "stat-history.json"):
            assert (cut / "rounds" / str(k) / "agent" / name).read_bytes() == \
                (tmp_path / "whole" / "rounds" / str(k) / "agent" / name).read_bytes()
    assert np.array_equal(np.array(resumed_env.ledger.snapshot().examples_accepted),
                          np.array(whole_env.ledger.snapshot().examples_accepted))


def test_stat_sel_picks_pool_items_of_the_missing_subskills_never_twice(tmp_path: Path) -> None:
    from teachenv.agents.stat_sel import StatSelConfig, StatSelPolicy

    RunDirectory(tmp_path).create("a config\n")
    env = make_env("teachenv/SkillList-v0", CONFIG, knows=("add", "add-carry", "max"), run_dir=tmp_path)
    policy = StatSelPolicy(StatSelConfig(pool_per_skill=50, replay_share=0.25))
    policy.attach(env)
    policy.reset(1)
    _, info = env.reset(seed=0)
    action = policy.act(info["state"])
    assert len(action.examples) == CONFIG["env"]["examples_per_round"] and not action.requests
    skills = [e.example.skill for e in action.examples]
    assert sum(s in ("sub", "mul") for s in skills) >= 0.75 * len(skills)  # the profile holds only sub and mul
    _, _, _, _, info = env.step(action)
    assert info["round_result"].examples_accepted == len(action.examples)
    again = policy.act(info["state"])
    assert not {e.example.id for e in again.examples} & {e.example.id for e in action.examples}


def test_stat_refuses_the_skill_tree_structure_with_the_ids_that_work() -> None:
    import pytest

    from teachenv.core.errors import ConfigError

    env = make_env("teachenv/SkillTree-v0", CONFIG)
    with pytest.raises(ConfigError, match="SkillList-v0"):
        StatSynPolicy().attach(env)
