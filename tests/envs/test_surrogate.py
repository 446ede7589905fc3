"""The surrogate student and its environment: the real skill list's spaces around a fitted learning-dynamics
model, dynamics that mean what they say, and a fitting script that recovers known dynamics."""

from __future__ import annotations

import json

import gymnasium
import numpy as np
import pytest
import yaml
from gymnasium.utils.env_checker import check_env

import teachenv  # noqa: F401  (registers the ids)
from memory_student import make_env
from script_loader import load_script
from teachenv.envs.defaults import world_defaults
from teachenv.student.surrogate import SurrogateParams, SurrogateStudent, step
from teachenv.tasks.arith.task import ArithConfig, ArithTask

SKILLS = ("add", "add-carry", "sub", "mul", "max")


def test_the_surrogate_env_has_the_skill_lists_spaces_and_passes_gymnasiums_checks(tmp_path):
    env = gymnasium.make("teachenv/SurrogateSkillList-v0", run_dir=tmp_path / "run").unwrapped
    real = make_env("teachenv/SkillList-v0", world_defaults("arith"))  # the real default's spaces (no student built)
    assert env.action_space == real.action_space and env.observation_space == real.observation_space
    check_env(env)
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert np.isfinite(reward)


def test_training_on_a_skill_raises_it_and_starved_skills_are_forgotten():
    task = ArithTask(ArithConfig(val_per_skill=50, test_per_skill=5))
    params = SurrogateParams.load()
    student = SurrogateStudent(task, params)
    student.reset(seed=0)
    before = dict(student.accuracy)
    student.train(task.generate("sub", 20, np.random.default_rng(0)), seed=0)
    assert student.accuracy["sub"] > before["sub"]
    if params.forgetting > 0:
        assert student.accuracy["max"] < before["max"]
    report, predictions = student.evaluate("val")
    assert len(predictions) == 5 * 50 and set(report.accuracy_by_skill) == set(SKILLS)


def test_a_resumed_surrogate_continues_from_its_saved_state(tmp_path):
    task = ArithTask(ArithConfig(val_per_skill=10, test_per_skill=5))
    student = SurrogateStudent(task)
    student.reset(seed=3)
    student.train(task.generate("mul", 10, np.random.default_rng(0)), seed=0)
    student.evaluate("val")
    student.save_adapter(tmp_path / "adapter")
    again = SurrogateStudent(task)
    again.restore([], tmp_path / "adapter")
    assert again.accuracy == student.accuracy
    assert again.evaluate("val")[0] == student.evaluate("val")[0]  # the same evaluation draws continue


def write_episode(folder, seed, accuracy, accepted):
    folder.mkdir(parents=True)
    config = {"seed": seed, "task": {"name": "arith"}, "env": {"examples_per_round": 100},
              "student": {"model": "tiny", "train": {"max_steps": 10}}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    rows = [{"round": k, "val_accuracy_by_skill": a, "accepted_by_skill": accepted[k - 1] if k else {}}
            for k, a in enumerate(accuracy)]
    (folder / "episode.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_the_fitting_script_recovers_known_dynamics_and_beats_no_change_on_held_out_episodes(tmp_path):
    truth = SurrogateParams(start={s: 0.2 for s in SKILLS}, ceiling={s: 0.9 for s in SKILLS},
                            rate={s: 3.0 for s in SKILLS}, transfer=0.0, forgetting=0.05)
    rng = np.random.default_rng(0)
    for seed in range(6):
        accuracy, accepted = [dict(truth.start)], []
        for _ in range(4):  # random (Dirichlet) allocations: the whole action space
            counts = {s: int(n) for s, n in zip(SKILLS, rng.multinomial(100, rng.dirichlet(np.ones(5))))}
            accepted.append(counts)
            accuracy.append(step(truth, accuracy[-1], {s: n / 100 for s, n in counts.items()}))
        write_episode(tmp_path / "runs" / f"seed-{seed}", seed, accuracy, accepted)
    out = tmp_path / "fit.json"
    report = load_script("scripts/fit_surrogate.py").main([str(tmp_path / "runs"), "--holdout-seeds", "5",
                                                            "--out", str(out)])
    fitted = SurrogateParams.load(out)
    assert fitted.forgetting == pytest.approx(0.05) and fitted.transfer == 0.0
    assert all(fitted.ceiling[s] == pytest.approx(0.9, abs=0.051) for s in SKILLS)
    for errors in report["held_out_mae_by_round"].values():
        assert errors["surrogate"] < 0.01 < errors["no_change"]
