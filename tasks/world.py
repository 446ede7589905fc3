"""``WorldTask``: the base of the offline worlds (``arith``, ``pyfunc``, ``shapes``), which make their
own items instead of reading a dataset.

A world says how to draw one item of a skill (``sample``): its identity, its split (from a hash, so
held-out items never depend on what else was drawn: ``split_of``), what the student should reply,
and how to build the example. The base does the rest the same way for every world: validation and
test items drawn once per ``split_seed`` (``draw_held_out``), ``load``, ``generate``'s fresh training
items, and by default grading by the first line of the answer and verification by the world's own
``solve``. Its config needs ``val_per_skill``, ``test_per_skill``, ``holdout`` and ``split_seed``.
A new world is a subclass with ``name``, ``Config``, ``skills``, ``sample`` and ``solve``, a line in
``teachenv.tasks`` (``register``, and ``WORLDS`` for gymnasium ids: ``env_suffix``). It knows no
particular world.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from teachenv.core.hashing import stable_fraction
from teachenv.core.records import TaskExample, TrainingExample, Verdict
from teachenv.tasks.base import EvalSplit, GeneratedTask, draw_held_out


@dataclass(frozen=True)
class WorldItem:
    """One drawn item of a world."""

    #: Its identity: a repeat is not drawn twice into a held-out split.
    key: Hashable
    #: 'val', 'test' or 'train', by a hash of the item (``holdout`` of them are held out).
    split: str
    #: What the student learns to reply.
    completion: str
    #: Builds the example (called only for items that are kept).
    make: Callable[[], TaskExample]


class WorldTask(GeneratedTask):
    #: Suffix of the world's registered gymnasium ids (``teachenv/SkillList{suffix}-v0``); None: not registered.
    env_suffix: ClassVar[str | None] = None
    # The split sizes only pick which held-out items are evaluated; training data is the same.
    eval_only_fields: ClassVar[frozenset[str]] = frozenset({"val_per_skill", "test_per_skill"})

    def __init__(self, config=None) -> None:  # noqa: ANN001  (each world's own Config)
        self.config = config if config is not None else self.Config()

    @abstractmethod
    def sample(self, skill: str, rng: np.random.Generator, params: dict | None = None) -> WorldItem | None:
        """One item of ``skill`` whose parameters include ``params``; None if (almost) no item has them.
        Raise ``InvalidActionError`` for parameters the skill does not take."""

    def split_of(self, *key: object) -> str:
        """'val', 'test' or 'train' for an item, by a hash of (the world, ``split_seed``, ``key``)."""
        u = stable_fraction(self.name, self.config.split_seed, *key)
        holdout = self.config.holdout
        return "val" if u < holdout / 2 else "test" if u < holdout else "train"

    def score(self, example: TaskExample, completion: str) -> bool:
        """The first line of the completion is the answer."""
        return completion.strip().split("\n", 1)[0].strip() == example.answer

    def verify(self, candidate: TrainingExample) -> Verdict:
        """A teacher's example is right when the world's own ``solve`` gives its answer."""
        example = candidate.example
        if example.skill not in self.skills:
            return Verdict(accepted=False, reason="unknown-skill", detail=example.skill)
        answer = self.solve(example.prompt)
        if answer is None:
            return Verdict(accepted=False, reason="unparseable", detail=example.prompt)
        if candidate.completion.strip() != answer or example.answer.strip() != answer:
            return Verdict(accepted=False, reason="wrong-answer", detail=f"expected {answer}")
        return Verdict(accepted=True)

    def held_out_fix(self) -> str:
        """How to fix a config whose skills run short of held-out items (ends the ConfigError)."""
        return (f"holdout={self.config.holdout}: lower task.val_per_skill / task.test_per_skill or raise "
                "task.holdout.")

    def check_config(self) -> None:
        """Raise ``ConfigError`` for a config no skill can be drawn with, before anything is drawn."""

    @cached_property
    def _eval_splits(self) -> dict[str, list[TaskExample]]:
        self.check_config()

        def draw(skill: str, rng: np.random.Generator):
            item = self.sample(skill, rng)
            if item is None:
                return None, "none", lambda: None
            return item.key, item.split, item.make

        return draw_held_out(self, {"val": self.config.val_per_skill, "test": self.config.test_per_skill},
                             self.config.split_seed, draw, self.held_out_fix())

    def load(self, split: EvalSplit) -> list[TaskExample]:
        return list(self._eval_splits[split])

    def generate(self, skill: str, count: int, rng: np.random.Generator,
                 params: dict | None = None) -> list[TrainingExample]:
        """``count`` training items of ``skill`` whose parameters include ``params``; fewer if such items are
        rare or do not exist."""
        if skill not in self.skills:
            return []
        made: list[TrainingExample] = []
        while len(made) < count:
            item = self.sample(skill, rng, params)
            if item is None:
                break  # no (or almost no) item has these parameters
            if item.split == "train":
                made.append(TrainingExample(example=item.make(), completion=item.completion, origin="procedural"))
        return made
