"""The allocation-noise script reads logged episodes into shares, starved rounds and a variance split that adds up."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from script_loader import load_script

SKILLS = ("add", "sub", "max")


def load():
    return load_script("scripts/allocation_noise.py")


def write_run(root, agent, seed, counts_by_round, start, end, test_per_skill=100):
    """A finished run directory as `teachenv bench` writes it (only the fields the script reads)."""
    path = root / "SkillList-v0" / agent / f"seed-{seed}"
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(yaml.safe_dump(
        {"seed": seed, "task": {"name": "arith", "test_per_skill": test_per_skill}, "agent": {"policy": {"name": agent}}}))
    (path / "bench.json").write_text(json.dumps(
        {"suite": "s", "agent": agent, "environment": "SkillList-v0", "seed": seed, "started_at": 1.0}))
    rows = [{"round": 0, "accepted_by_skill": {}, "reward_by_skill": {}}]
    rows += [{"round": k + 1, "accepted_by_skill": dict(zip(SKILLS, counts)),
              "reward_by_skill": {s: -0.1 if c == 0 else 0.05 for s, c in zip(SKILLS, counts)}}
             for k, counts in enumerate(counts_by_round)]
    (path / "episode.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (path / "summary.json").write_text(json.dumps(
        {"test_accuracy_by_skill": {"start": dict(zip(SKILLS, start)), "end": dict(zip(SKILLS, end))}}))
    return path


@pytest.fixture
def runs(tmp_path):
    start = (1.0, 0.1, 0.8)
    write_run(tmp_path, "random", 0, [(100, 0, 100), (50, 100, 50)], start, (0.9, 0.5, 0.7))
    write_run(tmp_path, "random", 1, [(0, 150, 50), (100, 100, 0)], start, (0.8, 0.6, 0.5))
    write_run(tmp_path, "random", 2, [(60, 80, 60), (70, 70, 60)], start, (1.0, 0.3, 0.8))
    unfinished = write_run(tmp_path, "random", 3, [(200, 0, 0)], start, start)
    (unfinished / "summary.json").unlink()
    return tmp_path


def test_episodes_give_shares_starved_rounds_and_gain(runs):
    script = load()
    episodes = {e.seed: e for e in script.read_episodes([runs])}
    assert sorted(episodes) == [0, 1, 2]  # the unfinished run is left out
    e = episodes[1]
    assert e.total_shares() == pytest.approx({"add": 0.25, "sub": 0.625, "max": 0.125})
    assert e.starved(0.05) == [(1, "add"), (2, "max")]
    assert e.test_gain == pytest.approx((0.8 + 0.6 + 0.5 - 1.9) / 3)
    # Binomial SD of the final accuracy over 3 skills of 100 items each.
    assert e.eval_sd() == pytest.approx(math.sqrt((0.8 * 0.2 + 0.6 * 0.4 + 0.5 * 0.5) / 100) / 3)


def test_variance_split_by_skill_adds_up_to_the_whole(runs):
    script = load()
    split = script.variance_by_skill(script.read_episodes([runs]))
    assert set(split) == set(SKILLS) and sum(split.values()) == pytest.approx(1.0)


def test_replicate_sd_pools_runs_of_the_same_seed(runs, tmp_path_factory):
    script = load()
    again = tmp_path_factory.mktemp("again")
    write_run(again, "random", 0, [(100, 0, 100), (50, 100, 50)], (1.0, 0.1, 0.8), (0.9, 0.5, 0.4))
    episodes = script.read_episodes([runs, again])
    sd, seeds = script.replicate_sd(episodes)
    assert seeds == 1 and sd == pytest.approx(math.sqrt(2) * 0.1 / 2)  # gains 0.3/3 apart: SD = |d| / sqrt(2)
    assert script.replicate_sd(script.read_episodes([runs])) == (pytest.approx(float("nan"), nan_ok=True), 0)


def test_report_prints_every_agent_and_the_breakdown(runs, capsys):
    assert load().main([str(runs), "--agent", "random"]) == 0
    out = capsys.readouterr().out
    assert "| random | 3 |" in out and "share of gain variance" in out and "2:max" in out


@pytest.mark.parametrize("argv, said", [(["--starved", "1.5"], "--starved 1.5"), ([], "no finished run")])
def test_bad_arguments_are_refused_naming_the_bad_value(tmp_path, argv, said, capsys):
    with pytest.raises(SystemExit) as exc:
        load().main([str(tmp_path), *argv])
    assert exc.value.code == 2 and said in capsys.readouterr().err
