"""The task interface: what the environment, the student and the engines may ask of a task.

A task owns its splits, the student's prompt format, the answer checker, the skill labels and
the verification of generated data, and what an LLM teacher needs to know to write data for it
(skill descriptions, seed examples, how a question and answer become a training example, when two
answers are the same). It knows nothing about models, training or engines.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel

from teachenv.core.errors import ConfigError
from teachenv.core.hashing import content_hash
from teachenv.core.records import TaskExample, TrainingExample, Verdict

EvalSplit = Literal["val", "test"]


class Task(ABC):
    """A benchmark: evaluation splits, prompt format, checker, skills."""

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel]]
    #: Longest completion the student needs to answer (evaluation's default max_new_tokens).
    max_new_tokens: ClassVar[int] = 64
    #: What a question holds: "text", or "image" (every example carries ``image``; a vision student answers).
    modality: ClassVar[Literal["text", "image"]] = "text"
    #: Answers are graded by executing tests: a teacher's example must bring its own tests (``TaskExample.tests``).
    needs_tests: ClassVar[bool] = False
    #: Questions are filled-in templates held out by their exact content (a procedural world): two questions
    #: sharing most of their words are still different problems, so only exact / normalised copies count
    #: as overlapping the evaluation splits.
    templated: ClassVar[bool] = False

    @property
    @abstractmethod
    def skills(self) -> tuple[str, ...]:
        """Skill names, in the fixed order used by array observations and actions."""

    @abstractmethod
    def load(self, split: EvalSplit) -> list[TaskExample]:
        """The evaluation split; identical for every episode of the same config."""

    def prompt(self, example: TaskExample) -> str:
        """The exact text the student sees; identical before and after training."""
        return example.prompt

    @abstractmethod
    def score(self, example: TaskExample, completion: str) -> bool:
        """Whether the student's completion answers ``example`` correctly."""

    def credit(self, example: TaskExample, completion: str) -> float:
        """Credit in [0, 1] for the completion: 1.0 / 0.0 from ``score`` unless the task gives partial
        credit (VQA accuracy). Per-skill accuracy is the mean credit."""
        return 1.0 if self.score(example, completion) else 0.0

    def verify_many(self, candidates: Sequence[TrainingExample]) -> list[Verdict]:
        """``verify`` of many candidates at once (a code task runs them in one batched sandbox run)."""
        return [self.verify(c) for c in candidates]

    def credit_many(self, examples: Sequence[TaskExample], completions: Sequence[str]) -> list[float]:
        """``credit`` of many completions at once (a task with an expensive checker grades them in parallel)."""
        return [self.credit(e, c) for e, c in zip(examples, completions, strict=True)]

    @property
    def prompt_style(self) -> Literal["plain", "chat"]:
        """How the student reads ``prompt``: as plain text, or as the user turn of its chat template (in
        training and evaluation alike)."""
        return "plain"

    @abstractmethod
    def verify(self, candidate: TrainingExample) -> Verdict:
        """Check a generated training example (its completion must be right for its prompt)."""

    # -- what an LLM teacher is told, and how its text becomes data ---------------------------

    def describe_skill(self, skill: str) -> str:
        """One line telling a teacher what ``skill`` covers (default: its name)."""
        return skill

    @abstractmethod
    def seed_examples(self, skill: str, count: int, rng: np.random.Generator) -> list[TaskExample]:
        """Up to ``count`` examples of ``skill`` from the *training* side (few-shot seeds for a teacher);
        never validation or test items."""

    def vocabulary(self) -> tuple[str, ...] | None:
        """Every word a question or answer can hold, for a world with a closed vocabulary (the tiny vision
        student's word-level tokenizer is built from it); None for open text."""
        return None

    def teacher_view(self, example: TaskExample) -> str:
        """How ``example``'s question is written for a text-only teacher, in the form ``candidate``
        reads back (default: the prompt; a visual world writes its scene specification)."""
        return example.prompt

    def candidate(self, skill: str, question: str, answer: str, origin: str) -> TrainingExample:
        """A teacher's question and answer as a candidate training example (the student learns to
        reply ``answer``); tasks whose completions carry more than the answer override this."""
        question, answer = question.strip(), answer.strip()
        example = TaskExample(id=f"{origin}/{skill}/{content_hash(question)}", skill=skill,
                              prompt=question, answer=answer)
        return TrainingExample(example=example, completion=answer, origin=origin)

    def answers_equivalent(self, gold: str, predicted: str) -> bool:
        """Whether ``predicted`` states the same answer as ``gold`` under the task's own check.
        May be asymmetric (math-verify's is): callers that need agreement test both orders."""
        return gold.strip() == predicted.strip()


class GeneratedTask(Task):
    """A task whose generator can make fresh, already-correct training examples per skill."""

    config: BaseModel
    #: Config fields that only choose what is evaluated (split sizes), not the generated data.
    eval_only_fields: ClassVar[frozenset[str]] = frozenset()

    #: Bump when the generator makes different data for the same config: students cached on the old
    #: data are then rebuilt instead of reused.
    generator_version: ClassVar[int] = 1

    def generator_identity(self) -> dict:
        """What shapes the generated data: the cache key of students pretrained on it."""
        return {"name": self.name, "version": self.generator_version,
                "config": self.config.model_dump(mode="json", exclude=set(self.eval_only_fields))}

    @abstractmethod
    def generate(self, skill: str, count: int, rng: np.random.Generator,
                 params: dict | None = None) -> list[TrainingExample]:
        """``count`` training examples of ``skill``, never from the validation or test split."""

    def seed_examples(self, skill: str, count: int, rng: np.random.Generator) -> list[TaskExample]:
        return [t.example for t in self.generate(skill, count, rng)]

    def subskill_keys(self, skill: str) -> tuple[str, ...]:
        """Parameters of ``generate`` that split ``skill`` into subskills (for the skill tree); () = none."""
        return ()

    def subskill_params(self, skill: str) -> list[dict]:
        """``skill``'s subskills as parameter settings ``generate`` accepts, in a fixed order. Default: what
        the world's generator makes (``teachenv.tasks.subskills``)."""
        from teachenv.tasks.subskills import generator_subskills

        return generator_subskills(self, skill)

    def solve(self, question: str) -> str | None:
        """The world's own answer to ``question`` written in its format, or None if it cannot read it
        (the default: a world whose answers are not in the question text, such as an image's): what a
        perfect teacher would say. The scripted teacher server answers with it."""
        return None


#: One draw of a held-out item: its identity (repeats are skipped), its split ('val', 'test' or
#: 'train'), and how to build the example (called only for items that are kept).
HeldOutDraw = tuple[Hashable, str, Callable[[], TaskExample]]


def draw_held_out(task: GeneratedTask, wanted: dict[str, int], split_seed: int,
                  draw: Callable[[str, np.random.Generator], HeldOutDraw], fix: str) -> dict[str, list[TaskExample]]:
    """Each skill's validation and test items, drawn with ``np.random.default_rng([split_seed, skill index])``
    until every split has its ``wanted`` size; a ConfigError ending with ``fix`` if a skill runs short."""
    splits: dict[str, list[TaskExample]] = {name: [] for name in wanted}
    for skill_index, skill in enumerate(task.skills):
        rng = np.random.default_rng([split_seed, skill_index])
        seen: set[Hashable] = set()
        counts = dict.fromkeys(wanted, 0)
        for _ in range(200 * sum(wanted.values())):
            if all(counts[s] >= wanted[s] for s in counts):
                break
            key, split, make = draw(skill, rng)
            if split not in counts or key in seen or counts[split] >= wanted[split]:
                continue
            seen.add(key)
            counts[split] += 1
            splits[split].append(make())
        short = [f"{s}: {counts[s]} of {wanted[s]}" for s in counts if counts[s] < wanted[s]]
        if short:
            raise ConfigError(f"{task.name} skill {skill!r} has too few held-out items ({'; '.join(short)}) with {fix}")
    return splits
