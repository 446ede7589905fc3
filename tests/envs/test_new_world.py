"""A new offline world through ``WorldTask``: the documented example (README, "Extending"). Registered,
it gets the gymnasium ids of every structure, passes ``check_env`` and teaches like the others."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from memory_student import MemoryStudent

from teachenv.core import registry
from teachenv.core.records import TaskExample
from teachenv.envs import registration

# -- the whole new world: 36 lines, 26 not blank ------------------------------------------------------
from typing import ClassVar  # noqa: E402  (kept with the example, so its line count is honest)

from pydantic import BaseModel, ConfigDict  # noqa: E402

from teachenv.tasks.world import WorldItem, WorldTask  # noqa: E402


class WordConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    val_per_skill: int = 20
    test_per_skill: int = 20
    holdout: float = 0.3
    split_seed: int = 0


class WordTask(WorldTask):
    """Repeat a four-letter word (``echo``) or write it backwards (``reverse``): ``reverse abcd=`` → ``dcba``."""

    name: ClassVar[str] = "words"
    Config: ClassVar[type[BaseModel]] = WordConfig
    env_suffix: ClassVar[str | None] = "-Words"
    skills = ("echo", "reverse")

    def subskill_keys(self, skill):
        return ("first",)  # subskills: the word's first letter (what the skill tree explores)

    def sample(self, skill, rng, params=None):
        letters = [str(c) for c in rng.choice(list("abcdefgh"), size=4)]
        word = (params or {}).get("first", letters[0]) + "".join(letters[1:])
        prompt, answer = f"{skill} {word}=", word if skill == "echo" else word[::-1]
        return WorldItem(word, self.split_of(skill, word), answer, lambda: TaskExample(
            id=f"words/{skill}/{word}", skill=skill, prompt=prompt, answer=answer, params={"first": word[0]}))

    def solve(self, question):
        skill, _, word = question.removesuffix("=").partition(" ")
        return {"echo": word, "reverse": word[::-1]}.get(skill) if len(word) == 4 else None
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def registered(monkeypatch):
    """The world registered as a task and with gymnasium ids for this test only."""
    monkeypatch.setitem(registry.tasks._entries, "words", WordTask)
    monkeypatch.setattr(registration, "ENVIRONMENTS", dict(registration.ENVIRONMENTS))
    monkeypatch.setattr(registration, "ENV_IDS", dict(registration.ENV_IDS))
    ids = registration.register_world(WordTask)
    yield ids
    for env_id in ids:
        gymnasium.registry.pop(env_id, None)


def make(env_id, **config):
    task = WordTask()
    return gymnasium.make(env_id, task=task, student=MemoryStudent(task), **config).unwrapped


def test_a_new_world_gets_every_structure_and_passes_check_env(registered):
    ids = registered
    assert ids == ["teachenv/SkillList-Words-v0", "teachenv/OpenEnded-Words-v0", "teachenv/SkillTree-Words-v0"]
    for env_id in ids:
        env = make(env_id)
        assert env.config.task.name == "words"  # its cheap default names the world
        check_env(env)


def test_the_new_world_holds_out_its_splits_and_verifies_by_its_own_solver():
    task = WordTask()
    val, test = task.load("val"), task.load("test")
    assert len(val) == len(test) == 40 and not {e.prompt for e in val} & {e.prompt for e in test}
    made = task.generate("reverse", 5, np.random.default_rng(0))
    assert len(made) == 5 and all(task.verify(m).accepted for m in made)
    assert not {m.example.prompt for m in made} & {e.prompt for e in [*val, *test]}
    wrong = made[0].model_copy(update={"completion": "zzzz"})
    assert task.verify(wrong).reason == "wrong-answer"


def test_the_teacher_teaches_the_new_world(registered):
    env = make("teachenv/SkillList-Words-v0")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.array([0, 4]))  # reverse only: one of two skills learnt
    assert reward == 0.5 and info["round_result"].accepted_by_skill == {"reverse": 4}
