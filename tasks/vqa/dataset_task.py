"""``VQADatasetTask``: a real visual-question-answering dataset (VQAv2, GQA, a local JSONL …) as a task.

It owns where the rows come from (a Hub dataset id or a local directory / data file, read with 🤗
``datasets``), which rows are validation, test and training items, the skills, the answer check
(VQA accuracy or exact match, see ``vqa_scoring``) and the verification of training examples
against the dataset's own labels. The skills are the values of a metadata column such as
``question_type`` (``skill_column``), or are discovered by ``teachenv.skills`` (``skills``: a
shipped mapping file, or a teacher model that labels and clusters the question text) over the
validation and test questions together with a bounded, fixed sample of training rows, so that
training rows of every discovered skill can be handed out.

It is a *data selection* world: ``generate`` hands out real labelled rows of a skill from the
training split (never a validation row; validation is held out of that split, test is another
split), it cannot make new ones, and ``verify`` accepts only training rows stated with an answer
a human gave. It knows nothing of models, engines or training: for ``skills.source: llm`` it only
builds the ``skills_teacher`` backend from the registry, hands it to ``teachenv.skills`` (which
asks and caches) and closes it. ``datasets``, PIL and the teacher's client are imported when first
used, so that importing teachenv stays fast; the rows are loaded (and skills discovered) once per
task instance.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from teachenv.core.config import BackendSpec
from teachenv.core.errors import ConfigError
from teachenv.core.records import TaskExample, TrainingExample, Verdict
from teachenv.skills.discovery import SkillDiscoveryConfig
from teachenv.tasks.base import EvalSplit, GeneratedTask
from teachenv.tasks.dataset_source import load_source
from teachenv.tasks.vqa.vqa_scoring import exact_match, first_answer, majority_answer, normalize_answer, vqa_accuracy

OTHER = "other"
ALL = "all"
_BATCH = 4096
#: Fine teacher labels quoted when describing an llm-discovered skill.
_SHOWN_LABELS = 3


class VQADatasetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(description=(
        "A Hub dataset id, or a local path: a directory (holding <split>.jsonl/.json/.parquet/.csv files, a "
        "datasets save_to_disk folder, or any layout load_dataset reads) or one data file; write '{split}' in a "
        "file name to give one file per split (data/{split}.jsonl). A single file without it is the split 'train'."))
    subset: str | None = Field(None, description="Hub config name (e.g. a dataset's 'balanced' subset), if any.")
    eval_split: str = Field("validation", description="The split test items come from.")
    train_split: str = Field("train", description="The split validation items and training examples come from.")
    question_column: str = Field("question", description="Column with the question text.")
    answer_column: str = Field("answer", description=(
        "Column with the human answers: one string, a list of strings, or VQAv2's list of {'answer': …}."))
    image_column: str = Field("image", description=(
        "Column with the image: a datasets Image feature, a PIL image, or a path relative to image_root "
        "(default: the data file's folder)."))
    image_root: str | None = Field(None, description="Folder that relative image paths are read from.")
    skill_column: str | None = Field(None, description=(
        "Column whose values are the skills (e.g. 'question_type'; GQA's structural type); None: one skill 'all' "
        "(unless `skills` discovers them)."))
    max_skills: int = Field(8, ge=1, description=(
        "The most frequent skill values of the train split become skills; rarer (and missing) ones are 'other'."))
    skills: SkillDiscoveryConfig | None = Field(None, description=(
        "Where the skills come from: None or source 'metadata': skill_column, as above; 'file': a mapping file "
        "(example id → skill) that covers the validation and test ids and the skills_train_rows training ids "
        "('vqa/<split>/<row>'); 'llm': skills_teacher labels and clusters those questions' text (cached under "
        "TEACHENV_HOME/skills; images are not sent). Validation is then drawn without regard to skill."))
    skills_teacher: BackendSpec | None = Field(None, description=(
        "skills.source 'llm': the text backend that labels the questions (as agent.teacher: a registered name "
        "and its options, e.g. {name: openai, model: ..., base_url: ...}); built once, closed after discovery."))
    skills_train_rows: int = Field(2000, ge=1, description=(
        "skills.source 'file' / 'llm': training rows (a seeded sample of the labelled ones not in validation) "
        "whose skill is looked up, and so the rows generate can hand out; bounds the teacher's work."))
    scoring: Literal["exact", "vqa"] = Field("vqa", description=(
        "'vqa': VQA accuracy min(#humans who gave the answer / 3, 1), for ~10 answers per question (VQAv2); "
        "'exact': right if it equals any human answer, for one-answer datasets (GQA). Both normalise answers."))
    val_size: int = Field(200, ge=1, description=(
        "Validation items, held out of the train split, spread evenly over skills (at most half of a skill)."))
    test_size: int | None = Field(None, ge=1, description=(
        "Test items: None = the whole eval split, else a seeded sample of it."))
    seed: int = Field(0, description="Which rows are sampled for validation (and test); fixed across episodes.")
    image_size: int | None = Field(None, ge=16, description=(
        "Shrink images so that the longer side is at most this many pixels (keeps a run small); None: as stored."))

    @model_validator(mode="after")
    def _splits_differ(self) -> VQADatasetConfig:
        if self.train_split == self.eval_split:
            raise ValueError(
                f"train_split and eval_split are both {self.train_split!r}: test items must come from another split "
                f"than training data (validation is already held out of train_split): set eval_split to another "
                f"split of the source (e.g. 'validation').")
        return self

    @model_validator(mode="after")
    def _one_skill_source(self) -> VQADatasetConfig:
        source = self.skills.source if self.skills is not None else None
        discovered = source in ("file", "llm")
        # Defaults are not errors: a resolved config (every field written out) must validate again.
        changed = {name for name, info in type(self).model_fields.items() if getattr(self, name) != info.default}
        if discovered and self.skill_column is not None:
            raise ValueError(
                f"skills.source={source!r} and skill_column={self.skill_column!r} both name the skills: set "
                f"skill_column to null to use the discovered skills, or skills.source='metadata' to keep the column's.")
        if discovered and "max_skills" in changed:
            raise ValueError(f"max_skills caps the skill_column's values, not skills.source={source!r}: remove "
                             f"max_skills (for 'llm', skills.categories caps the categories).")
        if source == "llm" and self.skills_teacher is None:
            raise ValueError("skills.source='llm' needs skills_teacher, the backend that labels the questions "
                             "(e.g. {name: openai, model: <model>, base_url: <server>/v1}); or use "
                             "skills.source='file' with a shipped skills.mapping_file.")
        if source != "llm" and self.skills_teacher is not None:
            raise ValueError(f"skills_teacher is used only with skills.source='llm' (skills.source is {source!r}): "
                             f"remove skills_teacher, or set skills.source='llm'.")
        if not discovered and "skills_train_rows" in changed:
            raise ValueError(f"skills_train_rows is used only with skills.source 'file' or 'llm' (skills.source is "
                             f"{source!r}): remove it.")
        return self


def human_answers(value: Any) -> list[str]:
    """The human answers in one answer cell: a string, a list of strings, a list of VQAv2 answer
    records ``{"answer": …}``, or those records as ``datasets`` returns a sequence of dicts (a dict of lists)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return human_answers(value.get("answer"))
    items = value if isinstance(value, (list, tuple)) else [value]
    answers = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("answer")
        if item is not None and str(item).strip():
            answers.append(str(item).strip())
    return answers


@dataclass(frozen=True)
class _Source:
    splits: dict[str, Any]  # role ("train" / "eval") → datasets.Dataset
    image_dir: Path | None  # where relative image paths are read from


@dataclass(frozen=True)
class _Skills:
    names: tuple[str, ...]
    top: tuple[str, ...]  # the skill column's values that are skills (empty without a skill column)
    of_row: dict[str, list[str]]  # role → each row's skill ("" for a row whose skill was not discovered)
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # discovered skill → a few teacher labels


@dataclass(frozen=True)
class _Selection:
    val: frozenset[int]  # train-split rows
    test: tuple[int, ...]  # eval-split rows
    trainable: tuple[int, ...]  # train-split rows that can be trained on (labelled, not validation)


class VQADatasetTask(GeneratedTask):
    name: ClassVar[str] = "vqa"
    Config: ClassVar[type[BaseModel]] = VQADatasetConfig
    modality: ClassVar[Literal["text", "image"]] = "image"
    max_new_tokens: ClassVar[int] = 8
    # Only picks which eval-split rows are evaluated; the training pool is the same.
    eval_only_fields: ClassVar[frozenset[str]] = frozenset({"test_size"})

    def __init__(self, config: VQADatasetConfig) -> None:
        self.config = config
        self._row_of_key: dict[str, int] = {}  # content key → train row, for every train row made so far

    def generator_identity(self) -> dict:
        identity = super().generator_identity()
        if self._discovers:  # the test questions are discovered together with the training rows' skills
            identity["config"]["test_size"] = self.config.test_size
        return identity

    # -- loading --------------------------------------------------------------------------------

    @property
    def _split_names(self) -> dict[str, str]:
        return {"train": self.config.train_split, "eval": self.config.eval_split}

    @cached_property
    def _source(self) -> _Source:
        config = self.config
        loaded = load_source(config.source, config.subset, self._split_names)
        self._check_columns(loaded.splits)
        image_dir = Path(config.image_root).expanduser() if config.image_root else loaded.data_dir
        return _Source(splits=loaded.splits, image_dir=image_dir)

    def _check_columns(self, splits: dict[str, Any]) -> None:
        config = self.config
        wanted = {"question_column": config.question_column, "answer_column": config.answer_column,
                  "image_column": config.image_column, "skill_column": config.skill_column}
        for role, dataset in splits.items():
            for option, column in wanted.items():
                if column is not None and column not in dataset.column_names:
                    raise ConfigError(
                        f"task.{option}={column!r} is not a column of split {self._split_names[role]!r} of "
                        f"task.source={config.source!r}; available columns: {dataset.column_names}. "
                        f"Set task.{option} to one of them.")

    def _column(self, role: str, column: str):
        """The values of one text column, batch by batch (images are never decoded)."""
        view = self._source.splits[role].select_columns([column])
        for batch in view.iter(batch_size=_BATCH):
            yield from batch[column]

    # -- skills and splits ------------------------------------------------------------------------

    @property
    def _discovers(self) -> bool:
        """Whether skills come from ``teachenv.skills`` (a mapping file or a teacher), not a column."""
        return self.config.skills is not None and self.config.skills.source != "metadata"

    @cached_property
    def _skills(self) -> _Skills:
        return self._discovered_skills() if self._discovers else self._column_skills()

    def _column_skills(self) -> _Skills:
        """Skills from the skill column alone (no image is read)."""
        column = self.config.skill_column
        if column is None:
            of_row = {role: [ALL] * len(dataset) for role, dataset in self._source.splits.items()}
            return _Skills(names=(ALL,), top=(), of_row=of_row)
        raw = {role: [_skill_name(v, self._source.splits[role].features.get(column)) for v in self._column(role, column)]
               for role in self._source.splits}
        counts = Counter(v for v in raw["train"] if v)
        if not counts:
            raise ConfigError(f"task.skill_column={column!r} is empty in split {self.config.train_split!r}; "
                              f"set it to a column with values, or to null for one skill {ALL!r}.")
        top = tuple(sorted(sorted(counts, key=lambda v: (-counts[v], v))[: self.config.max_skills]))
        kept = set(top)
        of_row = {role: [v if v in kept else OTHER for v in values] for role, values in raw.items()}
        used_other = OTHER not in kept and any(OTHER in values for values in of_row.values())
        return _Skills(names=top + ((OTHER,) if used_other else ()), top=top, of_row=of_row)

    def _discovered_skills(self) -> _Skills:
        """Skills of the validation and test questions and of a fixed sample of ``skills_train_rows`` training
        rows, from ``teachenv.skills`` in one discovery (so all share its categories); no image is read."""
        from teachenv.skills.discovery import discover_skills_with

        config, selection = self.config, self._selection
        trainable = selection.trainable
        if len(trainable) > config.skills_train_rows:
            trainable = sorted(np.random.default_rng([config.seed, 2]).choice(
                trainable, config.skills_train_rows, replace=False).tolist())
        rows = [("train", r) for r in sorted(selection.val)] + [("eval", r) for r in selection.test]
        rows += [("train", r) for r in trainable]
        questions = {role: self._questions(role, [r for o, r in rows if o == role]) for role in self._split_names}
        examples = [TaskExample(id=self._id(role, row), skill=ALL, prompt=questions[role][row], answer="")
                    for role, row in rows]
        mapping = discover_skills_with(examples, config.skills, config.skills_teacher)
        of_row = {role: [""] * len(dataset) for role, dataset in self._source.splits.items()}
        fine: dict[str, Counter[str]] = defaultdict(Counter)
        for (role, row), example in zip(rows, examples, strict=True):
            of_row[role][row] = skill = mapping.skill_of(example.id)
            if example.id in mapping.labels:
                fine[skill][mapping.labels[example.id]] += 1
        labels = {skill: tuple(label for label, _ in counts.most_common(_SHOWN_LABELS))
                  for skill, counts in fine.items()}
        return _Skills(names=mapping.categories, top=(), of_row=of_row, labels=labels)

    def _questions(self, role: str, rows: list[int]) -> dict[int, str]:
        column = self.config.question_column
        texts = self._source.splits[role].select_columns([column]).select(rows)[column] if rows else []
        return {row: str(text).strip() for row, text in zip(rows, texts, strict=True)}

    @property
    def skills(self) -> tuple[str, ...]:
        return self._skills.names

    @cached_property
    def _selection(self) -> _Selection:
        config = self.config
        answer_counts = {role: [len(human_answers(v)) for v in self._column(role, config.answer_column)]
                         for role in self._source.splits}
        labelled_eval = [row for row, n in enumerate(answer_counts["eval"]) if n]
        if not labelled_eval:
            raise ConfigError(f"Split {config.eval_split!r} of task.source={config.source!r} has no answers in "
                              f"column {config.answer_column!r} (an unlabelled test split?): set task.eval_split "
                              f"to a labelled split.")
        if config.scoring == "vqa" and max(answer_counts["eval"]) < 3:
            raise ConfigError(f"task.scoring='vqa' gives at most 1/3 credit to a question fewer than 3 humans "
                              f"answered, and split {config.eval_split!r} has at most {max(answer_counts['eval'])} "
                              f"answer(s) per question: set task.scoring='exact'.")
        labelled_train = [row for row, n in enumerate(answer_counts["train"]) if n]
        rows_by_skill: dict[str, list[int]] = defaultdict(list)
        if self._discovers:  # the skills are discovered from these very rows: validation cannot be spread over them
            rows_by_skill[ALL] = labelled_train
        else:
            for row in labelled_train:
                rows_by_skill[self._skills.of_row["train"][row]].append(row)
        val = _even_sample(rows_by_skill, config.val_size, np.random.default_rng([config.seed, 0]))
        if len(val) < config.val_size:
            raise ConfigError(
                f"task.val_size={config.val_size} but split {config.train_split!r} can give only {len(val)} "
                f"validation items (at most half of each skill's labelled rows, so the rest can train): "
                f"lower task.val_size.")
        if config.test_size is None:
            test = labelled_eval
        elif config.test_size > len(labelled_eval):
            raise ConfigError(f"task.test_size={config.test_size} but split {config.eval_split!r} has "
                              f"{len(labelled_eval)} labelled rows: lower task.test_size or set it to null (all).")
        else:
            test = sorted(np.random.default_rng([config.seed, 1]).choice(labelled_eval, config.test_size,
                                                                         replace=False).tolist())
        held = set(val)
        return _Selection(val=frozenset(val), test=tuple(test),
                          trainable=tuple(row for row in labelled_train if row not in held))

    @cached_property
    def _pool(self) -> dict[str, np.ndarray]:
        """Skill → the train-split rows ``generate`` hands out (labelled, not validation; for discovered
        skills, only the sampled rows whose skill was looked up)."""
        rows_by_skill: dict[str, list[int]] = defaultdict(list)
        of_row = self._skills.of_row["train"]
        for row in self._selection.trainable:
            if of_row[row]:
                rows_by_skill[of_row[row]].append(row)
        return {skill: np.array(rows, dtype=np.int64) for skill, rows in rows_by_skill.items()}

    @cached_property
    def _eval_examples(self) -> dict[str, list[TaskExample]]:
        return {"val": [self._example("train", row) for row in sorted(self._selection.val)],
                "test": [self._example("eval", row) for row in self._selection.test]}

    def load(self, split: EvalSplit) -> list[TaskExample]:
        return list(self._eval_examples[split])

    # -- rows as examples -----------------------------------------------------------------------

    def _example(self, role: str, row: int) -> TaskExample:
        config = self.config
        record = self._source.splits[role][row]
        answers = human_answers(record[config.answer_column])
        example = TaskExample(
            id=self._id(role, row),
            skill=self._skills.of_row[role][row],
            prompt=str(record[config.question_column]).strip(),
            answer=majority_answer(answers),
            image=self._png(record[config.image_column]),
            params={"answers": json.dumps(answers)},
        )
        if role == "train":
            self._row_of_key[example.content_key] = row
        return example

    def _id(self, role: str, row: int) -> str:
        """The example id of a row (what a skill mapping file names): ``vqa/<split>/<row>``."""
        return f"vqa/{self._split_names[role]}/{row}"

    def _png(self, value: Any) -> bytes:
        """Any stored image (PIL image, ``{"bytes", "path"}`` record, bytes, path) as RGB PNG bytes."""
        from PIL import Image

        if isinstance(value, dict):
            value = value.get("bytes") or value.get("path")
        if isinstance(value, Image.Image):
            image = value.convert("RGB")
        elif isinstance(value, (bytes, bytearray)):
            with Image.open(io.BytesIO(value)) as opened:
                image = opened.convert("RGB")
        elif isinstance(value, str):
            path = Path(value).expanduser()
            if not path.is_absolute():
                if self._source.image_dir is None:
                    raise ConfigError(f"task.image_column={self.config.image_column!r} holds relative paths "
                                      f"({value!r}): set task.image_root to the folder they are relative to.")
                path = self._source.image_dir / path
            if not path.is_file():
                raise ConfigError(f"Image {str(path)!r} (column {self.config.image_column!r}) does not exist: "
                                  f"set task.image_root to the folder the image paths are relative to.")
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        else:
            raise ConfigError(f"task.image_column={self.config.image_column!r} holds a {type(value).__name__}, "
                              f"not an image or an image path: set it to the image column.")
        size = self.config.image_size
        if size is not None and max(image.size) > size:
            scale = size / max(image.size)
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                 Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    # -- training data ----------------------------------------------------------------------------

    def generate(self, skill: str, count: int, rng: np.random.Generator,
                 params: dict | None = None) -> list[TrainingExample]:
        """``count`` labelled training rows of ``skill`` (never validation rows); repeats only when the
        skill has fewer rows than ``count``. ``params`` are ignored: rows have no generator parameters."""
        pool = self._pool.get(skill)
        if pool is None or len(pool) == 0 or count <= 0:
            return []
        if count <= len(pool):
            rows = rng.choice(pool, count, replace=False)
        else:
            rows = np.concatenate([rng.permutation(pool), rng.choice(pool, count - len(pool))])
        made = []
        for row in rows:
            example = self._example("train", int(row))
            made.append(TrainingExample(example=example, completion=example.answer, origin="procedural"))
        return made

    def describe_skill(self, skill: str) -> str:
        column = self.config.skill_column
        if self._discovers:
            labels = self._skills.labels.get(skill)
            if skill == OTHER and self.config.skills.source == "llm":
                return "questions about an image that skill discovery placed in no category"
            if labels:
                return f"questions about an image of the kind {skill!r}, e.g. {', '.join(map(repr, labels))}"
            return f"questions about an image of the kind {skill!r} (skill mapping {self.config.skills.mapping_file})"
        if column is None:
            return f"questions about an image, from {self.config.source}"
        if skill == OTHER and OTHER not in self._skills.top:
            return f"questions about an image whose {column} is none of: {', '.join(self._skills.top)}"
        return f"questions about an image whose {column} is {skill!r}"

    # -- checking ---------------------------------------------------------------------------------

    @staticmethod
    def _gold_answers(example: TaskExample) -> list[str]:
        raw = example.params.get("answers")
        if isinstance(raw, str):
            try:
                answers = json.loads(raw)
            except json.JSONDecodeError:
                answers = None
            if isinstance(answers, list) and answers:
                return [str(a) for a in answers]
        return [example.answer]

    def credit(self, example: TaskExample, completion: str) -> float:
        answers, predicted = self._gold_answers(example), first_answer(completion)
        return vqa_accuracy(predicted, answers) if self.config.scoring == "vqa" else exact_match(predicted, answers)

    def score(self, example: TaskExample, completion: str) -> bool:
        return self.credit(example, completion) == 1.0

    def answers_equivalent(self, gold: str, predicted: str) -> bool:
        return normalize_answer(first_answer(gold)) == normalize_answer(first_answer(predicted))

    @cached_property
    def _train_answers(self) -> Any:
        """The train split's answer column alone (rows read from it decode no image)."""
        return self._source.splits["train"].select_columns([self.config.answer_column])

    @cached_property
    def _rows_by_question(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = defaultdict(list)
        for row, question in enumerate(self._column("train", self.config.question_column)):
            rows[str(question).strip()].append(row)
        return dict(rows)

    def _train_row(self, example: TaskExample) -> int | None:
        """The train-split row with ``example``'s image and question, or None."""
        key = example.content_key
        if key not in self._row_of_key:
            for row in self._rows_by_question.get(example.prompt.strip(), ()):
                if self._example("train", row).content_key == key:  # registers every row it makes
                    break
        return self._row_of_key.get(key)

    def verify(self, candidate: TrainingExample) -> Verdict:
        example = candidate.example
        if example.skill not in self.skills:
            return Verdict(accepted=False, reason="unknown-skill", detail=example.skill)
        row = self._train_row(example)
        if row is None:
            return Verdict(accepted=False, reason="wrong-answer", detail=(
                f"not an (image, question) of split {self.config.train_split!r}: real data is verified against "
                f"its labels, so only the dataset's own training items can be checked"))
        if row in self._selection.val:
            return Verdict(accepted=False, reason="overlaps-eval", detail="a validation item")
        if not self._skills.of_row["train"][row]:
            return Verdict(accepted=False, reason="skill-mismatch", detail=(
                "the item's skill is unknown: it is not among the task.skills_train_rows rows whose skill was "
                "discovered (generate hands out only those)"))
        if self._skills.of_row["train"][row] != example.skill:
            return Verdict(accepted=False, reason="skill-mismatch",
                           detail=f"the item's skill is {self._skills.of_row['train'][row]!r}")
        accepted = {normalize_answer(a) for a in human_answers(self._train_answers[row][self.config.answer_column])}
        stated = {normalize_answer(first_answer(candidate.completion)), normalize_answer(example.answer)}
        if not stated <= accepted:
            return Verdict(accepted=False, reason="wrong-answer", detail=(
                f"the humans answered {sorted(accepted)}: real data is verified against its labels"))
        return Verdict(accepted=True)


def _skill_name(value: Any, feature: Any) -> str:
    """A skill column's value as text; a ClassLabel's integer becomes its name (ChartQA's 0 → 'human')."""
    if value is None:
        return ""
    names = getattr(feature, "names", None)
    if names and isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    return str(value).strip()


def _even_sample(rows_by_skill: dict[str, list[int]], size: int, rng: np.random.Generator) -> list[int]:
    """Up to ``size`` rows spread as evenly as possible over the skills, a skill giving at most half of
    its rows (the rest stay for training); sorted."""
    room = {skill: len(rows) // 2 for skill, rows in rows_by_skill.items()}
    take = dict.fromkeys(rows_by_skill, 0)
    left = size
    while left > 0:
        open_skills = [skill for skill in sorted(take) if take[skill] < room[skill]]
        if not open_skills:
            break
        share = max(1, left // len(open_skills))
        for skill in open_skills:
            added = min(share, room[skill] - take[skill], left)
            take[skill] += added
            left -= added
    picked: list[int] = []
    for skill in sorted(rows_by_skill):
        picked.extend(rng.choice(rows_by_skill[skill], take[skill], replace=False).tolist())
    return sorted(picked)
