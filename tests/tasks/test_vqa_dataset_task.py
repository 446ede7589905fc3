"""The real-VQA task on a small local dataset written here: loading, skills, splits, data selection,
scoring and verification (no network: a Hub id is only tried with the Hub switched offline)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from teachenv.core.errors import ConfigError
from teachenv.core.records import TaskExample, TrainingExample
from teachenv.tasks.vqa.dataset_task import VQADatasetConfig, VQADatasetTask, human_answers
from teachenv.tasks.vqa.vqa_scoring import exact_match, first_answer, normalize_answer, vqa_accuracy

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220), "yellow": (230, 220, 30)}
#: Rows per question type: train is unbalanced so that max_skills=2 leaves out "how many".
TRAIN_ROWS = {"what color": 14, "is the": 10, "how many": 6}
EVAL_ROWS = {"what color": 3, "is the": 3, "how many": 3}
NUMBER_WORDS = ["one", "two", "three"]


def _row(kind: str, index: int, split: str, image_dir: Path) -> dict:
    """One question about a picture of coloured squares; every picture differs (its background)."""
    from PIL import Image, ImageDraw

    names = list(COLOURS)
    colour = names[index % len(names)]
    squares = 1 + index % 3 if kind == "how many" else 1
    image = Image.new("RGB", (40, 40), (index * 7 % 256, 100 if split == "train" else 160, 90))
    draw = ImageDraw.Draw(image)
    for k in range(squares):
        draw.rectangle([2 + 12 * k, 10, 10 + 12 * k, 18], fill=COLOURS[colour])
    file = f"{split}_{kind.replace(' ', '_')}_{index}.png"
    image.save(image_dir / file)
    if kind == "what color":
        question = "What colour is the square?"
        answers = [colour] * 6 + [f"the {colour}", f"{colour.capitalize()}.", f"dark {colour}", "orange"]
    elif kind == "is the":
        asked = names[(index + index % 2) % len(names)]
        question = f"Is the square {asked}?"
        truth = "yes" if asked == colour else "no"
        answers = [truth] * 9 + ["no" if truth == "yes" else "yes"]
    else:
        question = "How many squares are there?"
        answers = [NUMBER_WORDS[squares - 1]] * 5 + [str(squares)] * 3 + [str(squares + 1)] * 2
    return {"question": question, "answers": answers, "img": f"images/{file}", "question_type": kind}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vqa")
    (root / "images").mkdir()
    for split, sizes in (("train", TRAIN_ROWS), ("validation", EVAL_ROWS)):
        rows = [_row(kind, i, split, root / "images") for kind, n in sizes.items() for i in range(n)]
        (root / f"{split}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def _task(data_dir: Path, **options) -> VQADatasetTask:
    base = {"source": str(data_dir), "answer_column": "answers", "image_column": "img",
            "skill_column": "question_type", "val_size": 6}
    return VQADatasetTask(VQADatasetConfig(**(base | options)))


@pytest.fixture(scope="module")
def task(data_dir) -> VQADatasetTask:
    return _task(data_dir)


def _candidate(example: TaskExample, completion: str | None = None, **changes) -> TrainingExample:
    example = example.model_copy(update=changes)
    return TrainingExample(example=example, completion=example.answer if completion is None else completion)


# -- loading --------------------------------------------------------------------------------------


def test_local_jsonl_loads_with_image_paths_relative_to_the_data_folder(task):
    from PIL import Image

    test = task.load("test")
    assert len(test) == sum(EVAL_ROWS.values())
    assert all(example.id.startswith("vqa/validation/") for example in test)
    example = test[0]
    assert example.prompt == "What colour is the square?" and example.answer == "red"
    assert len(json.loads(example.params["answers"])) == 10
    image = Image.open(io.BytesIO(example.image))
    assert image.format == "PNG" and image.mode == "RGB" and image.size == (40, 40)
    assert task.modality == "image" and task.solve(example.prompt) is None


def test_a_split_template_reads_one_file_per_split_and_image_size_shrinks_images(data_dir, task):
    from PIL import Image

    templated = _task(data_dir, source=str(data_dir / "{split}.jsonl"), image_size=20)
    example = templated.load("test")[0]
    assert example.prompt == task.load("test")[0].prompt
    assert Image.open(io.BytesIO(example.image)).size == (20, 20)


def test_a_single_data_file_is_the_train_split_and_the_error_names_the_template(data_dir):
    with pytest.raises(ConfigError, match=r"\{split\}"):
        _task(data_dir, source=str(data_dir / "train.jsonl")).skills


def test_a_missing_local_source_is_a_config_error_naming_it(tmp_path):
    source = str(tmp_path / "nowhere" / "{split}.jsonl")
    with pytest.raises(ConfigError, match="nowhere"):
        VQADatasetTask(VQADatasetConfig(source=source)).skills
    with pytest.raises(ConfigError, match="missing.parquet"):
        VQADatasetTask(VQADatasetConfig(source=str(tmp_path / "missing.parquet"))).skills


def test_an_unreachable_hub_id_is_a_config_error_suggesting_a_local_path(monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConfigError, match=r"no-such-owner/no-such-vqa.*local directory or data file"):
        VQADatasetTask(VQADatasetConfig(source="no-such-owner/no-such-vqa")).skills


def test_a_missing_column_is_a_config_error_listing_the_available_columns(data_dir):
    with pytest.raises(ConfigError, match=r"task.answer_column='answer'.*'answers', 'img'"):
        _task(data_dir, answer_column="answer").skills


def test_train_and_eval_split_must_differ():
    with pytest.raises(ValidationError, match="eval_split"):
        VQADatasetConfig(source="x", train_split="train", eval_split="train")


def test_vqa_scoring_needs_several_human_answers(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "pic.png")
    row = {"question": "q?", "answer": "a", "image": "pic.png", "kind": "k"}
    for split in ("train", "validation"):
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(row | {"question": f"q{i}?"}) + "\n"
                                                         for i in range(6)))
    single = {"source": str(tmp_path), "val_size": 2}
    with pytest.raises(ConfigError, match="scoring='exact'"):
        VQADatasetTask(VQADatasetConfig(**single)).load("val")
    assert len(VQADatasetTask(VQADatasetConfig(**single, scoring="exact")).load("val")) == 2


# -- skills and splits ----------------------------------------------------------------------------


def test_skills_come_from_the_skill_column_without_reading_images(data_dir, monkeypatch):
    fresh = _task(data_dir)
    monkeypatch.setattr(VQADatasetTask, "_png", lambda self, value: pytest.fail("an image was read"))
    assert fresh.skills == ("how many", "is the", "what color")
    assert _task(data_dir, skill_column=None).skills == ("all",)


def test_values_past_max_skills_become_other(data_dir):
    capped = _task(data_dir, max_skills=2)
    assert capped.skills == ("is the", "what color", "other")
    assert {e.skill for e in capped.load("test")} == set(capped.skills)
    assert "none of: is the, what color" in capped.describe_skill("other")
    assert "question_type" in capped.describe_skill("is the")


def test_val_is_stratified_and_disjoint_from_the_training_pool_and_test(task):
    val, test = task.load("val"), task.load("test")
    assert [e.skill for e in val].count("how many") == [e.skill for e in val].count("is the") == 2
    assert all(e.id.startswith("vqa/train/") for e in val)
    val_keys = {e.content_key for e in val}
    assert len(val_keys) == 6 and not val_keys & {e.content_key for e in test}
    pool = {t.example.content_key for s in task.skills for t in task.generate(s, 40, np.random.default_rng(0))}
    assert len(pool) == sum(TRAIN_ROWS.values()) - 6 and not pool & val_keys


def test_generate_draws_distinct_rows_of_the_skill_and_repeats_only_past_the_pool(task):
    drawn = task.generate("how many", 4, np.random.default_rng(1))  # 6 rows, 2 held out for val
    assert len({t.example.content_key for t in drawn}) == 4
    assert all(t.example.skill == "how many" and t.completion == t.example.answer for t in drawn)
    assert {t.example.answer for t in drawn} <= {"1", "2", "3"}
    more = task.generate("how many", 7, np.random.default_rng(1))
    assert len(more) == 7 and len({t.example.content_key for t in more}) == 4
    assert task.generate("no-such-skill", 3, np.random.default_rng(1)) == []


def test_split_selection_is_fixed_by_the_seed(data_dir, task):
    assert [e.id for e in _task(data_dir).load("val")] == [e.id for e in task.load("val")]
    assert [e.id for e in _task(data_dir, seed=1).load("val")] != [e.id for e in task.load("val")]
    assert len(_task(data_dir, test_size=4).load("test")) == 4


# -- scoring --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "normalised"), [
    ("Two", "2"), ("the red.", "red"), ("yes.", "yes"), ("  A  Dog ", "dog"), ("3.5", "3.5"),
    ("1,000", "1000"), ("t-shirt", "t shirt"), ("dont", "don't"), ("red, white", "red white"),
])
def test_answers_are_normalised_like_the_vqa_evaluation(raw, normalised):
    assert normalize_answer(raw) == normalised


def test_first_answer_reads_the_first_line_without_prefix_or_period():
    assert first_answer("Answer: Red.\nbecause it is") == "Red"
    assert first_answer("\n  two  \n") == "two"
    assert first_answer("") == ""


def test_vqa_accuracy_is_a_third_per_agreeing_human_up_to_one():
    answers = ["green"] * 4 + ["blue"] * 2 + ["red"] + ["two"] * 3
    assert vqa_accuracy("purple", answers) == 0.0
    assert vqa_accuracy("red", answers) == pytest.approx(1 / 3)
    assert vqa_accuracy("Blue.", answers) == pytest.approx(2 / 3)
    assert vqa_accuracy("the green", answers) == 1.0
    assert vqa_accuracy("2", answers) == 1.0
    assert exact_match("RED", answers) == 1.0 and exact_match("purple", answers) == 0.0


def test_task_credit_uses_the_configured_scoring(data_dir, task):
    example = task.load("test")[0]  # red: 6 "red", "the red", "Red.", "dark red", "orange"
    assert task.credit(example, "Answer: red.") == 1.0 and task.score(example, "red")
    assert task.credit(example, "orange") == pytest.approx(1 / 3) and not task.score(example, "orange")
    exact = _task(data_dir, scoring="exact")
    assert exact.credit(example, "orange") == 1.0 and exact.credit(example, "purple") == 0.0


def test_human_answers_read_strings_lists_and_vqav2_records():
    assert human_answers("yes") == ["yes"]
    assert human_answers(["a", " ", "b"]) == ["a", "b"]
    assert human_answers([{"answer": "a"}, {"answer": "b"}]) == ["a", "b"]
    assert human_answers({"answer": ["a", "b"], "answer_id": [1, 2]}) == ["a", "b"]


# -- verification ---------------------------------------------------------------------------------


def test_verify_accepts_a_drawn_training_item(data_dir, task):
    drawn = task.generate("what color", 3, np.random.default_rng(2))
    assert all(task.verify(t).accepted for t in drawn)
    # A fresh task finds the row by its question and image, and takes any human answer.
    minority = _candidate(drawn[0].example, completion="dark " + drawn[0].example.answer,
                          answer="dark " + drawn[0].example.answer)
    assert _task(data_dir).verify(minority).accepted


def test_verify_rejects_wrong_answers_unknown_items_val_items_and_unknown_skills(task):
    drawn = task.generate("is the", 1, np.random.default_rng(3))[0].example
    verdict = task.verify(_candidate(drawn, completion="maybe", answer="maybe"))  # no human said it
    assert not verdict.accepted and verdict.reason == "wrong-answer" and "labels" in verdict.detail
    unknown = task.verify(_candidate(drawn, prompt="Is the square pink?"))
    assert not unknown.accepted and unknown.reason == "wrong-answer" and "labels" in unknown.detail
    assert task.verify(_candidate(task.load("val")[0])).reason == "overlaps-eval"
    assert task.verify(_candidate(drawn, skill="colour")).reason == "unknown-skill"
    assert task.verify(_candidate(drawn, skill="how many")).reason == "skill-mismatch"


# -- discovered skills ----------------------------------------------------------------------------

#: The skill a test mapping file gives each question type.
FILE_SKILLS = {"what color": "colour", "is the": "yes-no", "how many": "counting"}


def _kind(question: str) -> str:
    """The question type of a fixture question, from its first word."""
    return {"what": "what color", "is": "is the", "how": "how many"}[question.split()[0].lower()]


def _mapping_file(path: Path, drop: str | None = None) -> Path:
    """Every row of the fixture mapped to its question type's skill (``drop``: one id left out)."""
    ids = {}
    for split, sizes in (("train", TRAIN_ROWS), ("validation", EVAL_ROWS)):
        kinds = [kind for kind, n in sizes.items() for _ in range(n)]  # the fixture's row order
        ids |= {f"vqa/{split}/{row}": FILE_SKILLS[kind] for row, kind in enumerate(kinds)}
    ids.pop(drop, None)
    path.write_text(json.dumps({"categories": sorted(FILE_SKILLS.values()), "assignments": ids}))
    return path


def test_a_mapping_file_gives_the_skills_of_val_test_and_training_rows(data_dir, tmp_path):
    mapped = _task(data_dir, skill_column=None,
                   skills={"source": "file", "mapping_file": str(_mapping_file(tmp_path / "map.json"))})
    assert mapped.skills == ("colour", "counting", "yes-no")
    for split in ("val", "test"):
        assert all(e.skill == FILE_SKILLS[_kind(e.prompt)] for e in mapped.load(split))
    # Validation is the one a task without skills holds out (it cannot be spread over skills not yet known).
    assert [e.id for e in mapped.load("val")] == [e.id for e in _task(data_dir, skill_column=None).load("val")]
    counting = mapped.generate("counting", 40, np.random.default_rng(0))
    val_counting = sum(e.skill == "counting" for e in mapped.load("val"))
    assert len({t.example.content_key for t in counting}) == TRAIN_ROWS["how many"] - val_counting
    assert all(t.example.prompt.startswith("How many") and t.example.skill == "counting" for t in counting)
    assert all(mapped.verify(t).accepted for t in counting[:3])
    assert "counting" in mapped.describe_skill("counting")


def test_a_mapping_file_missing_an_id_is_an_error_naming_it_or_goes_to_other(data_dir, tmp_path):
    mapping = str(_mapping_file(tmp_path / "map.json", drop="vqa/validation/4"))
    with pytest.raises(ConfigError, match=r"vqa/validation/4.*skills.missing='other'"):
        _task(data_dir, skill_column=None, skills={"source": "file", "mapping_file": mapping}).skills
    lenient = _task(data_dir, skill_column=None, skills={"source": "file", "mapping_file": mapping, "missing": "other"})
    assert lenient.skills == ("colour", "counting", "yes-no", "other")
    assert [e.skill for e in lenient.load("test") if e.id == "vqa/validation/4"] == ["other"]


def test_training_rows_looked_up_are_bounded_and_others_are_not_handed_out(data_dir, task, tmp_path):
    mapped = _task(data_dir, skill_column=None, skills_train_rows=5,
                   skills={"source": "file", "mapping_file": str(_mapping_file(tmp_path / "map.json"))})
    drawn = {t.example.content_key for s in mapped.skills for t in mapped.generate(s, 40, np.random.default_rng(0))}
    assert len(drawn) == 5
    other = next(t.example for t in task.generate("what color", 14, np.random.default_rng(0))
                 if t.example.content_key not in drawn)
    verdict = mapped.verify(_candidate(other, skill="colour"))
    assert verdict.reason == "skill-mismatch" and "skills_train_rows" in verdict.detail


@pytest.fixture
def scripted_teacher(tmp_path, monkeypatch):
    from teachenv.scripted.brain import ScriptedTeacher
    from teachenv.scripted.server import ScriptedTeacherServer
    from teachenv.tasks.arith.task import ArithTask

    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path / "home"))
    server = ScriptedTeacherServer(ScriptedTeacher(ArithTask(), malformed_rate=0, wrong_rate=0)).start()
    yield server
    server.stop()


def test_an_llm_teacher_clusters_the_questions_once_and_the_cache_answers_the_next_build(data_dir, scripted_teacher):
    options = {"skill_column": None, "skills": {"source": "llm", "categories": 2},
               "skills_teacher": {"name": "openai", "model": "scripted-teacher", "base_url": scripted_teacher.url,
                                  "max_retries": 0, "timeout_seconds": 10}}
    discovered = _task(data_dir, **options)
    assert 1 < len(discovered.skills) <= 2 and "other" not in discovered.skills
    asked = scripted_teacher.calls
    assert asked == scripted_teacher.calls_by_kind["skill_labels"] + 1  # labelling batches, one clustering
    examples = discovered.load("val") + discovered.load("test")
    assert all(e.skill in discovered.skills for e in examples)
    same_kind = {}
    for e in examples:  # the scripted teacher labels by the question's words: same question, same skill
        assert same_kind.setdefault(e.prompt, e.skill) == e.skill
    for skill in discovered.skills:
        drawn = discovered.generate(skill, 5, np.random.default_rng(0))
        assert drawn and all(t.example.skill == skill and discovered.verify(t).accepted for t in drawn)
    assert "e.g." in discovered.describe_skill(discovered.skills[0])
    again = _task(data_dir, **options)
    assert again.skills == discovered.skills
    assert [e.skill for e in again.load("test")] == [e.skill for e in discovered.load("test")]
    assert scripted_teacher.calls == asked


@pytest.mark.parametrize(("options", "message"), [
    ({"skills": {"source": "llm"}}, r"skills.source='llm' needs skills_teacher"),
    ({"skills": {"source": "file", "mapping_file": "m.json"}, "skill_column": "question_type"},
     r"skill_column='question_type'.*set skill_column to null"),
    ({"skills": {"source": "file", "mapping_file": "m.json"}, "max_skills": 3}, r"remove max_skills"),
    ({"skills_teacher": {"name": "openai", "model": "m"}}, r"skills_teacher is used only with skills.source='llm'"),
    ({"skills_train_rows": 10}, r"skills_train_rows is used only"),
])
def test_inconsistent_skill_options_are_config_errors_naming_the_fix(options, message):
    from teachenv.core.config import TaskSpec, component_options

    with pytest.raises(ConfigError, match=message):
        component_options(TaskSpec(name="vqa", source="x", **options), VQADatasetTask, path="task")


def test_metadata_skills_are_the_skill_column_as_without_skills(data_dir, task):
    same = _task(data_dir, skills={"source": "metadata"})
    assert same.skills == task.skills
    assert [(e.id, e.skill) for e in same.load("val")] == [(e.id, e.skill) for e in task.load("val")]


def test_a_discovery_config_reads_back_from_its_resolved_form():
    config = VQADatasetConfig(source="x", skills={"source": "llm", "categories": 4}, skills_train_rows=50,
                              skills_teacher={"name": "openai", "model": "m", "base_url": "http://h/v1"})
    assert VQADatasetConfig.model_validate(config.model_dump(mode="json")) == config
