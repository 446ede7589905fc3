"""``MathDatasetTask``: what GSM8K and MATH share as tasks — rows, splits, prompts, grading, skills.

It owns reading the rows (through ``tasks.dataset_source``: a Hub id honouring the offline
switches, or local files), skipping bad rows with their id and reason, the splits (validation drawn
from the train split, stratified by skill, disjoint from the test split — which is the official
test split, or another source's such as MATH-500), the student's fixed prompt (plain or chat,
zero- or few-shot, identical before and after training), and grading with ``MathGrader`` (final
answer extraction + math-verify in a pool of spawned workers). It is a *data selection* world:
``generate`` hands out training rows (their worked solutions as completions). Subclasses say how a
row's gold answer and skill are read. It knows nothing of models, engines or training.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.apportion import apportion
from teachenv.core.config import BackendSpec
from teachenv.core.errors import ConfigError
from teachenv.core.hashing import content_hash
from teachenv.core.records import TaskExample, TrainingExample, Verdict
from teachenv.skills.discovery import SkillDiscoveryConfig
from teachenv.tasks.base import EvalSplit, GeneratedTask
from teachenv.tasks.dataset_source import load_source, report_skipped


class MathConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(description="A Hub dataset id, or a local directory / data file ('{split}' in a file name "
                                    "gives one file per split).")
    subsets: tuple[str, ...] | None = Field(None, description="Hub configs to load and concatenate (e.g. the "
                                                              "subjects of EleutherAI/hendrycks_math); None = the default.")
    train_split: str = "train"
    eval_split: str = Field("test", description="The official test split (the teacher never sees it).")
    test_source: str | None = Field(None, description="Take the test split from another source instead "
                                                      "(e.g. HuggingFaceH4/MATH-500).")
    test_subset: str | None = None
    question_column: str = "question"
    solution_column: str = Field("answer", description="The worked solution (the training completion).")
    val_size: int = Field(500, ge=1, description="Validation items drawn from the train split, stratified by skill.")
    test_size: int | None = Field(None, ge=1, description="Test items (a seeded sample); None = the whole split.")
    seed: int = Field(0, description="Which rows are validation, test and few-shot; fixed across episodes.")
    prompt_style: Literal["plain", "chat"] = Field(
        "plain", description="'chat': the prompt is the user turn of the student's chat template (train and eval).")
    few_shot: int = Field(0, ge=0, description="Solved training problems shown before the question (fixed).")
    grader_workers: int = Field(2, ge=1, description="Spawned math-verify worker processes.")
    grader_timeout_s: float = Field(5.0, gt=0, description="Per-answer limit; a hung worker is replaced.")
    skills: SkillDiscoveryConfig | None = Field(
        None, description="Discover the skills (teachenv.skills: a shipped mapping file, or a teacher model that "
                          "labels and clusters the questions) instead of reading them from the rows.")
    skills_teacher: BackendSpec | None = Field(None, description="The teacher of skills.source 'llm'.")
    skills_train_rows: int = Field(2000, ge=1, description="Training rows given skills with the validation and "
                                                          "test questions (only these are handed out).")


@dataclass(frozen=True)
class Row:
    id: str
    question: str
    solution: str
    answer: str
    skill: str


class MathDatasetTask(GeneratedTask):
    """A math benchmark as a data-selection world; subclasses read a row's answer and skill."""

    Config: ClassVar[type[BaseModel]] = MathConfig
    max_new_tokens: ClassVar[int] = 256
    eval_only_fields: ClassVar[frozenset[str]] = frozenset({"test_size", "grader_workers", "grader_timeout_s"})

    def __init__(self, config: MathConfig) -> None:
        self.config = config
        #: (row id, reason) of every row skipped while loading.
        self.skipped: list[tuple[str, str]] = []

    # -- what a subclass says ----------------------------------------------------------------
    @abstractmethod
    def gold_answer(self, raw: dict[str, Any]) -> str:
        """The row's final answer; ``ValueError`` (with the reason) for a row that has none."""

    @abstractmethod
    def row_skill(self, raw: dict[str, Any]) -> str:
        """The row's skill from its metadata (a single skill when the dataset has none)."""

    # -- loading -----------------------------------------------------------------------------
    @cached_property
    def _rows(self) -> dict[str, list[Row]]:
        """Rows of the train split and of the test split, bad ones skipped and reported."""
        config = self.config
        splits = {"train": self._load("train", config.source, config.subsets, config.train_split)}
        if config.test_source is not None:
            splits["eval"] = self._load("eval", config.test_source, (config.test_subset,) if config.test_subset else None,
                                        config.eval_split)
        else:
            splits["eval"] = self._load("eval", config.source, config.subsets, config.eval_split)
        report_skipped(self.name, self.skipped)
        return splits

    def _load(self, role: str, source: str, subsets: tuple[str, ...] | None, split: str) -> list[Row]:
        rows: list[Row] = []
        seen: set[str] = set()
        for subset in subsets or (None,):
            dataset = load_source(source, subset, {role: split}).splits[role]
            for column in (self.config.question_column, self.config.solution_column):
                if column not in dataset.column_names:
                    raise ConfigError(f"task: column {column!r} is not in split {split!r} of {source!r} "
                                      f"(columns: {dataset.column_names}); set task.question_column / "
                                      "task.solution_column.")
            for index, raw in enumerate(dataset):
                row_name = f"{source}{'/' + subset if subset else ''}:{split}[{index}]"
                row = self._row(raw, row_name)
                if row is None or row.id in seen:
                    if row is not None:
                        self.skipped.append((row_name, "a repeated question"))
                    continue
                seen.add(row.id)
                rows.append(row)
        return rows

    def _row(self, raw: dict[str, Any], row_name: str) -> Row | None:
        question, solution = raw.get(self.config.question_column), raw.get(self.config.solution_column)
        if not isinstance(question, str) or not question.strip():
            self.skipped.append((row_name, "no question"))
            return None
        if not isinstance(solution, str) or not solution.strip():
            self.skipped.append((row_name, "no solution"))
            return None
        try:
            answer = self.gold_answer(raw)
        except ValueError as exc:
            self.skipped.append((row_name, str(exc)))
            return None
        question = question.strip()
        return Row(id=f"{self.name}/{content_hash(question)[:16]}", question=question, solution=solution.strip(),
                   answer=answer, skill=self.row_skill(raw))

    # -- splits ------------------------------------------------------------------------------
    @cached_property
    def _splits(self) -> dict[str, list[Row]]:
        """val (stratified from train), test (the eval split) and the training pool (the rest of train,
        with no question of the test split)."""
        config = self.config
        test = self._rows["eval"]
        if config.test_size is not None and config.test_size < len(test):
            keep = sorted(np.random.default_rng([config.seed, 1]).choice(len(test), config.test_size, replace=False))
            test = [test[i] for i in keep]
        test_questions = {r.question for r in self._rows["eval"]}
        train = [r for r in self._rows["train"] if r.question not in test_questions]
        if len(train) <= config.val_size:
            raise ConfigError(f"{self.name}: task.val_size={config.val_size} leaves no training rows (the train "
                              f"split has {len(train)} usable rows); lower task.val_size.")
        by_skill: dict[str, list[int]] = defaultdict(list)
        for i, row in enumerate(train):
            by_skill[row.skill].append(i)
        skills = sorted(by_skill)
        shares = apportion(config.val_size, [len(by_skill[s]) for s in skills])
        rng = np.random.default_rng([config.seed, 0])
        val_rows: set[int] = set()
        for skill, share in zip(skills, shares):
            val_rows.update(int(i) for i in rng.choice(by_skill[skill], size=min(int(share), len(by_skill[skill])),
                                                        replace=False))
        val = [train[i] for i in sorted(val_rows)]
        pool = [row for i, row in enumerate(train) if i not in val_rows]
        splits = {"val": val, "test": test, "pool": pool}
        return self._discovered(splits) if config.skills is not None and config.skills.source != "metadata" else splits

    def _discovered(self, splits: dict[str, list[Row]]) -> dict[str, list[Row]]:
        """The rows with discovered skills: validation, test and a seeded sample of ``skills_train_rows``
        training rows in one discovery (they share its categories); only that sample is handed out."""
        from teachenv.skills.discovery import discover_skills_with

        config = self.config
        pool = splits["pool"]
        if len(pool) > config.skills_train_rows:
            keep = sorted(np.random.default_rng([config.seed, 3]).choice(len(pool), config.skills_train_rows,
                                                                          replace=False))
            pool = [pool[i] for i in keep]
        rows = [*splits["val"], *splits["test"], *pool]
        examples = [TaskExample(id=r.id, skill=r.skill, prompt=r.question, answer=r.answer) for r in rows]
        mapping = discover_skills_with(examples, config.skills, config.skills_teacher)
        relabel = lambda part: [replace(r, skill=mapping.skill_of(r.id)) for r in part]  # noqa: E731
        return {"val": relabel(splits["val"]), "test": relabel(splits["test"]), "pool": relabel(pool)}

    def _example(self, row: Row) -> TaskExample:
        return TaskExample(id=row.id, skill=row.skill, prompt=row.question, answer=row.answer)

    @cached_property
    def _eval_examples(self) -> dict[str, list[TaskExample]]:
        return {split: [self._example(r) for r in self._splits[split]] for split in ("val", "test")}

    def load(self, split: EvalSplit) -> list[TaskExample]:
        return list(self._eval_examples[split])

    @cached_property
    def skills(self) -> tuple[str, ...]:  # type: ignore[override]
        rows = [*self._splits["val"], *self._splits["test"], *self._splits["pool"]]
        return tuple(sorted({r.skill for r in rows}))

    # -- the student's prompt ------------------------------------------------------------------
    @property
    def prompt_style(self) -> Literal["plain", "chat"]:
        return self.config.prompt_style

    @cached_property
    def _shots(self) -> str:
        """The fixed few-shot block: solved training problems chosen by the seed."""
        pool = self._splits["pool"]
        if not self.config.few_shot:
            return ""
        picked = np.random.default_rng([self.config.seed, 2]).choice(len(pool), min(self.config.few_shot, len(pool)),
                                                                      replace=False)
        return "".join(f"Question: {pool[i].question}\nAnswer: {pool[i].solution}\n\n" for i in sorted(picked))

    def prompt(self, example: TaskExample) -> str:
        return f"{self._shots}Question: {example.prompt}\nAnswer:"

    # -- grading -----------------------------------------------------------------------------
    @cached_property
    def grader(self):
        from teachenv.tasks.math.grading import MathGrader

        return MathGrader(workers=self.config.grader_workers, timeout_s=self.config.grader_timeout_s)

    def score(self, example: TaskExample, completion: str) -> bool:
        return self.grader.grade([example.answer], [completion])[0]

    def credit_many(self, examples: Sequence[TaskExample], completions: Sequence[str]) -> list[float]:
        return [1.0 if ok else 0.0 for ok in self.grader.grade([e.answer for e in examples], list(completions))]

    def answers_equivalent(self, gold: str, predicted: str) -> bool:
        return self.grader.equivalent(gold, predicted)

    # -- data selection ----------------------------------------------------------------------
    @cached_property
    def _pool_by_skill(self) -> dict[str, list[Row]]:
        by_skill: dict[str, list[Row]] = defaultdict(list)
        for row in self._splits["pool"]:
            by_skill[row.skill].append(row)
        return by_skill

    @cached_property
    def _pool_by_question(self) -> dict[str, Row]:
        return {row.question: row for row in self._splits["pool"]}

    def generate(self, skill: str, count: int, rng: np.random.Generator,
                 params: dict | None = None) -> list[TrainingExample]:
        """Up to ``count`` training rows of ``skill`` (fewer when its pool is smaller), worked solutions as
        completions."""
        rows = self._pool_by_skill.get(skill, [])
        if not rows or count <= 0:
            return []
        picked = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
        return [TrainingExample(example=self._example(rows[i]), completion=rows[i].solution, origin="dataset")
                for i in picked]

    def solve(self, question: str) -> str | None:
        row = self._pool_by_question.get(question.strip())
        return row.answer if row is not None else None

    def verify(self, candidate: TrainingExample) -> Verdict:
        """A training row must be stated with an answer equivalent to its gold one; a new question (an LLM
        teacher's) must have a completion whose final answer is the stated answer."""
        from teachenv.tasks.math.extraction import final_answer

        example = candidate.example
        if example.skill not in self.skills:
            return Verdict(accepted=False, reason="unknown-skill", detail=example.skill)
        stated = final_answer(candidate.completion)
        if stated is None:
            return Verdict(accepted=False, reason="unparseable", detail="the completion states no final answer")
        row = self._pool_by_question.get(example.prompt.strip())
        gold = row.answer if row is not None else example.answer
        if not self.grader.equivalent(gold, stated):
            return Verdict(accepted=False, reason="wrong-answer",
                           detail=f"final answer {stated!r}, expected {gold!r}"
                                  + (" (the dataset's answer)" if row is not None else " (the stated answer)"))
        return Verdict(accepted=True)
