"""The tiny student that reads its context (``student.model: tiny-context``): its recipe is validated, the
existing tiny students keep their cache keys, its corpus holds same-skill exemplar sequences in the feedback
module's format with one offset per shifted sequence, and a small recipe is built on its cached base; on the
real build (marked ``context_student``, not in the default run) a correct exemplar beats its corrupted copy on
``add``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from teachenv.core.config import StudentConfig, TinyContextRecipe, TinyStudentRecipe, load_config
from teachenv.core.errors import ConfigError
from teachenv.student.build_report import split_record
from teachenv.student.char_tokenizer import build_char_tokenizer
from teachenv.student.context_corpus import IGNORE, context_corpus, context_sequences, describe
from teachenv.student.feedback import SEPARATOR
from teachenv.student.lora_student import LoRAStudent, tiny_recipe, tiny_vlm_recipe
from teachenv.student.tiny_model import tiny_student_path
from teachenv.tasks.arith.task import ArithConfig, ArithTask

SMALL = TinyContextRecipe(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, pretrain_steps=3,
                          batch_size=4, warmup_steps=1, context_steps=3, context_batch_size=4, context_warmup_steps=1)


@pytest.fixture(scope="module")
def task():
    return ArithTask(ArithConfig(val_per_skill=4, test_per_skill=4))


def test_existing_tiny_students_keep_the_cache_keys_they_had_before_tiny_context(task):
    # Computed on main before the tiny-context recipe existed: a changed key would silently rebuild every
    # cached student and detach the README's published numbers from the students that produced them.
    assert tiny_student_path(TinyStudentRecipe(), ArithTask()).name == "tiny-e155cdfe8539d4d3"
    assert tiny_student_path(TinyStudentRecipe(seed=1), ArithTask()).name == "tiny-1cd07284a0b21da4"
    quickstart = load_config("configs/quickstart.yaml")
    assert tiny_student_path(tiny_recipe(quickstart.student), ArithTask()).name == "tiny-e155cdfe8539d4d3"


def test_tiny_context_is_selected_by_the_model_name_and_cached_apart(task):
    config = StudentConfig(model="tiny-context")
    assert tiny_recipe(config) == TinyContextRecipe()
    path = tiny_student_path(tiny_recipe(config), task)
    assert path.name.startswith("tiny-context-")
    assert tiny_student_path(TinyContextRecipe(wrong_share=0.0), task) != path
    with pytest.raises(ConfigError, match="tiny-context.*student.model=tiny"):
        tiny_vlm_recipe(config)


@pytest.mark.parametrize("bad", [[2, 1], [-1, 2], [0, 9]])
def test_a_bad_exemplar_range_names_the_field_and_the_fix(bad):
    with pytest.raises(ConfigError, match=r"student.tiny_context.context_exemplars.*0 <= fewest <= most <= 8"):
        load_config(base={"student": {"model": "tiny-context", "tiny_context": {"context_exemplars": bad}}})


def test_the_corpus_holds_same_skill_exemplar_sequences_with_one_offset_each(task):
    recipe = SMALL.model_copy(update={"context_steps": 100, "context_batch_size": 8,
                                      "context_exemplars": (0, 3)}).context_stage()
    sequences = context_sequences(recipe, task, np.random.default_rng(0))
    assert len(sequences) == 800
    counts = [len(pairs) - 1 for pairs, _ in sequences]
    assert set(counts) == {0, 1, 2, 3}
    shifted = 0
    for pairs, offset in sequences:
        assert None not in {task.solve(prompt) for prompt, _ in pairs}
        errors = {int(answer) - int(task.solve(prompt)) for prompt, answer in pairs}
        assert errors == {offset}  # every answer carries the sequence's offset (0: all correct)
        assert len(pairs) > 1 or offset == 0  # alone, an item is never shifted
        assert abs(offset) <= recipe.max_offset
        shifted += offset != 0
    with_exemplars = sum(c > 0 for c in counts)
    assert 0.35 < shifted / with_exemplars < 0.65  # wrong_share 0.5
    # Same skill within a sequence: the operator of every prompt is the item's.
    for pairs, _ in sequences[:200]:
        assert len({_operator(prompt) for prompt, _ in pairs}) == 1


def _operator(prompt: str) -> str:
    return "max" if prompt.startswith("max") else next(c for c in prompt if c in "+-*")


def test_the_labels_train_every_answer_but_the_first_of_a_shifted_sequence(task):
    recipe = SMALL.model_copy(update={"context_steps": 20, "context_batch_size": 8,
                                      "context_exemplars": (0, 3)}).context_stage()
    tokenizer = build_char_tokenizer(padding_side="right")
    sequences = context_sequences(recipe, task, np.random.default_rng(recipe.seed))
    input_ids, labels, lengths = context_corpus(recipe, task, tokenizer, np.random.default_rng(recipe.seed))
    for row, (pairs, offset) in enumerate(sequences):
        ids, lab = input_ids[row, :lengths[row]].tolist(), labels[row, :lengths[row]].tolist()
        # What the student reads is what in_context_scores renders: exemplars joined by the separator.
        assert tokenizer.decode(ids) == "<bos>" + describe(pairs) + "<eos>"
        trained = tokenizer.decode([t for t in lab if t != IGNORE])
        answers = [answer for _, answer in pairs]
        assert trained == "".join(answers[1:] if offset else answers) + "<eos>"
        assert SEPARATOR not in trained


def test_the_base_is_the_tiny_student_of_the_inherited_fields_and_the_stage_has_its_own_steps():
    recipe = TinyContextRecipe()
    assert recipe.base() == TinyStudentRecipe()  # the quick-start student: built once, shared with 'tiny'
    stage = recipe.context_stage()
    assert (stage.pretrain_steps, stage.batch_size, stage.learning_rate, stage.warmup_steps) == (
        recipe.context_steps, recipe.context_batch_size, recipe.context_learning_rate, recipe.context_warmup_steps)


def test_a_small_tiny_context_student_is_built_on_its_cached_base_and_answers(tmp_path, monkeypatch, task):
    monkeypatch.setenv("TEACHENV_HOME", str(tmp_path))
    student = LoRAStudent(StudentConfig(model="tiny-context", tiny_context=SMALL), task)
    path, base = tiny_student_path(SMALL, task), tiny_student_path(SMALL.base(), task)
    assert sorted(p.name for p in (tmp_path / "students").iterdir()) == sorted([path.name, base.name])
    assert path.name.startswith("tiny-context-") and base.name.startswith("tiny-") and base != path
    report = json.loads((path / "report.json").read_text())
    assert report["base"] == base.name and set(report["val_accuracy"]) == set(task.skills)
    assert report["measured_on"] == split_record(task, "val")  # the split its accuracy belongs to
    evaluated, _ = student.evaluate("val")
    assert set(evaluated.accuracy_by_skill) == set(task.skills)


@pytest.mark.slow
@pytest.mark.context_student
def test_a_correct_exemplar_scores_above_its_corrupted_copy_on_add_on_the_tiny_context_student(
        tiny_context_student_dir):
    """The real build: on ``add``, which it computes, a correct exemplar gives the exam's gold answers a higher
    log-likelihood than the same exemplar with its answer shifted by 7, for most exemplars. Measured 36/48 here
    (34 and 38 with draws of seeds 1 and 2; the quick-start student is at a coin's 7/16); asserted at 30/48."""
    from teachenv.student.feedback import in_context_scores

    task = ArithTask(ArithConfig(val_per_skill=8, test_per_skill=8))
    student = LoRAStudent(StudentConfig(model="tiny-context"), task)
    rng = np.random.default_rng(0)
    exam, candidates = task.generate("add", 16, rng), task.generate("add", 48, rng)
    corrupted = [c.model_copy(update={"completion": str(int(c.completion) + 7)}) for c in candidates]
    scores = np.array(in_context_scores(student, candidates + corrupted, exam).mean_loglik)
    assert int((scores[:48] > scores[48:]).sum()) >= 30
