"""The shapes world: rendering, question answers read off the pixels, the verifier, the splits."""

from __future__ import annotations

import io
import json
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from teachenv.core.errors import ConfigError, InvalidActionError
from teachenv.core.records import TaskExample, TrainingExample
from teachenv.tasks.vqa.questions import (
    SKILLS, AmbiguousQuestion, answer, canonical_question, make_question, parse_question, vocabulary, words,
)
from teachenv.tasks.vqa.scene import (
    COLOURS, RGB, SHAPES, SIZES, Scene, SceneObject, check_scene, half_extent, render_array, render_png,
    sample_scene, scene_from_json, scene_to_json,
)
from teachenv.tasks.vqa.shapes import ShapesConfig, ShapesTask

PER_SKILL = 100


def _obj(shape: str, colour: str, size: str, x: int, y: int) -> SceneObject:
    return SceneObject(shape=shape, colour=colour, size=size, x=x, y=y)


# Two circles (so "What colour is the circle?" is ambiguous), one of each other shape, a unique large object.
SCENE = Scene(objects=(
    _obj("circle", "red", "large", 14, 14),
    _obj("square", "blue", "medium", 48, 16),
    _obj("triangle", "green", "small", 20, 48),
    _obj("circle", "yellow", "small", 50, 50),
))
EXPECTED = {
    "What colour is the square?": "blue",
    "What colour is the triangle?": "green",
    "What shape is the red object?": "circle",
    "What shape is the blue object?": "square",
    "What shape is the green object?": "triangle",
    "What shape is the yellow object?": "circle",
    "How many circles are there?": "2",
    "How many squares are there?": "1",
    "How many triangles are there?": "1",
    "Is there a red circle?": "yes",
    "Is there a yellow circle?": "yes",
    "Is there a red square?": "no",
    "Is there a blue triangle?": "no",
    "Is the red circle on the left or the right?": "left",
    "Is the blue square on the left or the right?": "right",
    "Is the green triangle on the left or the right?": "left",
    "Is the yellow circle on the left or the right?": "right",
    "What colour is the largest object?": "red",
}


@pytest.fixture(scope="module")
def task() -> ShapesTask:
    return ShapesTask()


@pytest.fixture(scope="module")
def generated(task) -> dict[str, list[TrainingExample]]:
    rng = np.random.default_rng(7)
    return {skill: task.generate(skill, PER_SKILL, rng) for skill in SKILLS}


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _seen(array: np.ndarray, scene: Scene) -> list[dict]:
    """Each object as the pixels show it (shape, colour, size, centre x), from a window around its box;
    also checks that nothing is drawn outside the windows."""
    covered = np.zeros(array.shape[:2], dtype=bool)
    found = []
    names = {rgb: name for name, rgb in RGB.items()}
    for obj in scene.objects:
        h = half_extent(obj.size) + 1
        top, left = max(obj.y - h, 0), max(obj.x - h, 0)  # objects may touch the canvas edge
        window = array[top:obj.y + h + 1, left:obj.x + h + 1]
        covered[top:obj.y + h + 1, left:obj.x + h + 1] = True
        mask = window.any(axis=2)
        rows, cols = np.nonzero(mask)
        r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
        colours = {tuple(int(v) for v in px) for px in window[mask]}
        assert len(colours) == 1, f"{obj}: one pure colour, got {colours}"
        side = int(c1 - c0 + 1)
        assert side == r1 - r0 + 1
        top_left, bottom_left = mask[r0, c0], mask[r1, c0]
        shape = "square" if top_left else "triangle" if bottom_left else "circle"
        found.append({"shape": shape, "colour": names[colours.pop()],
                      "size": next(s for s in SIZES if 2 * half_extent(s) + 1 == side),
                      "x": left + int(c0 + c1) // 2, "y": top + int(r0 + r1) // 2})
    assert not array[~covered].any(), "pixels drawn outside the objects' boxes"
    return found


def _oracle(seen: list[dict], question: str, image_size: int = 64) -> str | None:
    """The answer worked out from pixel-read objects (None where the question does not apply)."""
    skill, slots = parse_question(question)
    like = [o for o in seen if all(o[k] == v for k, v in slots.items())]
    if skill in ("colour", "shape"):
        return like[0]["shape" if skill == "shape" else "colour"] if len(like) == 1 else None
    if skill == "count":
        return str(len(like))
    if skill == "exists":
        return "yes" if like else "no"
    if skill == "position":
        if len(like) != 1 or abs(like[0]["x"] + 0.5 - image_size / 2) < 4:
            return None
        return "left" if like[0]["x"] < image_size / 2 else "right"
    ranks = [SIZES.index(o["size"]) for o in seen]
    top = [o for o, r in zip(seen, ranks) if r == max(ranks)]
    return top[0]["colour"] if len(seen) >= 2 and len(top) == 1 else None


def _spec(objects: list[tuple], question: str) -> str:
    keys = ("shape", "colour", "size", "x", "y")
    return json.dumps({"objects": [dict(zip(keys, o)) for o in objects], "question": question})


def _check(task: ShapesTask, skill: str, spec: str, stated: str):
    return task.verify(task.candidate(skill, spec, stated, "llm"))


# -- scenes and rendering ---------------------------------------------------------------------------


def test_each_shape_is_drawn_in_its_colour_size_and_place():
    array = render_array(SCENE)
    assert array.shape == (64, 64, 3) and array.dtype == np.uint8
    seen = _seen(array, SCENE)
    assert seen == [o.model_dump() for o in SCENE.objects]
    for obj in SCENE.objects:
        assert tuple(array[obj.y, obj.x]) == RGB[obj.colour]


def test_rendering_is_deterministic_and_independent_of_object_order():
    reordered = Scene(objects=tuple(reversed(SCENE.objects)))
    assert reordered == SCENE
    assert render_png(reordered) == render_png(SCENE)
    assert scene_to_json(reordered) == scene_to_json(SCENE)
    assert np.array_equal(_decode(render_png(SCENE)), render_array(SCENE))


def test_scene_json_is_canonical_and_reads_back():
    text = scene_to_json(SCENE)
    assert " " not in text and "\n" not in text
    assert scene_from_json(text) == SCENE
    assert scene_from_json(json.dumps(json.loads(text), indent=2)) == SCENE


@pytest.mark.parametrize("text, fragment", [
    ("{oops", "JSON"),
    ("[1, 2]", "JSON object"),
    ('{"objects": [{"shape": "hexagon", "colour": "red", "size": "small", "x": 9, "y": 9}]}', "hexagon"),
    ('{"objects": [{"shape": "circle", "colour": "red", "size": "small", "x": 9.5, "y": 9}]}', "integer"),
    ('{"objects": [], "extra": 1}', "extra"),
])
def test_bad_scene_json_raises_a_value_error_naming_the_problem(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        scene_from_json(text)


def test_check_scene_finds_objects_outside_overlapping_and_too_many():
    assert check_scene(SCENE) is None
    assert "outside" in check_scene(Scene(objects=(_obj("circle", "red", "large", 5, 30),)))
    assert "outside" in check_scene(Scene(objects=(_obj("circle", "red", "small", 30, 61),)))
    # Boxes 2 px apart are fine; 1 px apart is too close.
    def pair(x: int) -> Scene:
        return Scene(objects=(_obj("square", "red", "small", 10, 10), _obj("square", "blue", "small", x, 10)))
    assert check_scene(pair(19)) is None
    assert "closer" in check_scene(pair(18))
    assert "no objects" in check_scene(Scene(objects=()))
    many = Scene(objects=tuple(_obj("circle", "red", "small", 6 + 13 * i, 6) for i in range(5)))
    assert check_scene(many, max_objects=5) is None
    assert "at most 4" in check_scene(many, max_objects=4)


@pytest.mark.parametrize("n", [1, 4, 6])
def test_sampled_scenes_are_valid_and_have_the_asked_number_of_objects(n):
    rng = np.random.default_rng(n)
    for _ in range(200):
        scene = sample_scene(rng, n)
        assert len(scene.objects) == n and check_scene(scene, max_objects=6) is None


# -- questions ------------------------------------------------------------------------------------


def test_every_template_answer_on_a_hand_built_scene_matches_the_pixels():
    seen = _seen(render_array(SCENE), SCENE)
    for question, expected in EXPECTED.items():
        assert answer(SCENE, question) == expected, question
        assert _oracle(seen, question) == expected, question
    assert {parse_question(q)[0] for q in EXPECTED} == set(SKILLS)


@pytest.mark.parametrize("scene, question, reason", [
    (SCENE, "What colour is the circle?", "2 circles"),
    (SCENE, "What colour is the hexagon?", None),
    (Scene(objects=(_obj("circle", "red", "small", 10, 10),)), "What colour is the square?", "no square"),
    (Scene(objects=(_obj("circle", "red", "small", 10, 10), _obj("square", "red", "small", 40, 40))),
     "What shape is the red object?", "2 red objects"),
    (Scene(objects=(_obj("circle", "red", "small", 35, 10),)), "Is the red circle on the left or the right?",
     "centre line"),
    (Scene(objects=(_obj("circle", "red", "small", 10, 10),)), "What colour is the largest object?", "only one"),
    (Scene(objects=(_obj("circle", "red", "large", 14, 14), _obj("square", "blue", "large", 45, 45))),
     "What colour is the largest object?", "share the largest"),
])
def test_questions_that_do_not_apply_raise_with_the_reason(scene, question, reason):
    if reason is None:
        with pytest.raises(ValueError, match="not a question"):
            answer(scene, question)
    else:
        with pytest.raises(AmbiguousQuestion, match=reason):
            answer(scene, question)


def test_left_and_right_need_four_pixels_from_the_centre_line():
    def side(x: int) -> str:
        scene = Scene(objects=(_obj("circle", "red", "small", x, 10),))
        return answer(scene, "Is the red circle on the left or the right?")
    assert side(27) == "left" and side(36) == "right"
    for x in (28, 31, 32, 35):
        with pytest.raises(AmbiguousQuestion):
            side(x)


def test_parse_question_forgives_case_and_spacing_and_canonical_question_has_one_spelling():
    assert parse_question("  what COLOUR is   the circle? \n") == ("colour", {"shape": "circle"})
    assert canonical_question("colour", {"shape": "circle"}) == "What colour is the circle?"
    assert parse_question("What colour is the red circle?") is None
    for question in EXPECTED:
        assert canonical_question(*parse_question(question.upper())) == question


def test_make_question_gives_applicable_questions_and_balanced_answers():
    rng = np.random.default_rng(3)
    answers: dict[str, Counter] = {skill: Counter() for skill in SKILLS}
    for skill in SKILLS:
        for i in range(150):
            scene, question, reply = make_question(skill, rng, 2 + i % 3)
            assert parse_question(question)[0] == skill and answer(scene, question) == reply
            answers[skill][reply] += 1
    assert 50 <= answers["exists"]["yes"] <= 100
    assert answers["count"]["0"] > 0 and answers["count"]["4"] > 0
    assert set(answers["position"]) == {"left", "right"}
    assert set(answers["shape"]) == set(SHAPES) and set(answers["largest"]) == set(COLOURS)


def test_vocabulary_holds_every_word_of_every_question_and_answer(task, generated):
    vocab = set(vocabulary())
    assert list(vocabulary()) == sorted(vocab) and task.vocabulary() == vocabulary()
    assert all(w == w.lower() and " " not in w for w in vocab)
    assert {"?", "circles", "triangles", "0", "4", "yes", "left"} <= vocab
    texts = [text for examples in generated.values() for t in examples for text in (t.example.prompt, t.example.answer)]
    texts += [text for e in task.load("val") for text in (e.prompt, e.answer)]
    assert {w for text in texts for w in words(text)} <= vocab


# -- the task: generation, splits, scoring ---------------------------------------------------------


def test_generated_examples_pass_verify_and_agree_with_the_pixels(task, generated):
    for skill, examples in generated.items():
        assert len(examples) == PER_SKILL
        for made in examples:
            example = made.example
            assert example.skill == skill and made.completion == example.answer
            assert example.id.startswith(f"shapes/{skill}/")
            scene = scene_from_json(example.params["scene"])
            assert example.params["objects"] == len(scene.objects)
            assert task.verify(made).accepted, (example, task.verify(made))
            assert _oracle(_seen(_decode(example.image), scene), example.prompt) == example.answer


def test_generate_with_objects_fixes_the_number_of_objects(task):
    rng = np.random.default_rng(0)
    for skill in SKILLS:
        made = task.generate(skill, 20, rng, params={"objects": 3})
        assert {len(scene_from_json(t.example.params["scene"]).objects) for t in made} == {3}
        assert {t.example.params["objects"] for t in made} == {3}
    with pytest.raises(InvalidActionError, match="objects"):
        task.generate("largest", 1, rng, params={"objects": 1})
    with pytest.raises(InvalidActionError, match="only the parameter"):
        task.generate("colour", 1, rng, params={"digits": 2})
    assert task.generate("no-such-skill", 3, rng) == []


def test_largest_needs_scenes_of_two_objects():
    one = ShapesTask(ShapesConfig(max_objects=1))
    with pytest.raises(ConfigError, match="raise task.max_objects"):
        one.generate("largest", 1, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="raise task.max_objects"):
        one.load("val")
    assert {len(scene_from_json(t.example.params["scene"]).objects)
            for t in one.generate("colour", 20, np.random.default_rng(0))} == {1}


def test_each_skill_gets_its_split_sizes_and_enough_objects(task):
    for split in ("val", "test"):
        examples = task.load(split)
        assert Counter(e.skill for e in examples) == {skill: 100 for skill in SKILLS}
        counts = Counter((e.skill, e.params["objects"]) for e in examples)
        assert min(n for skill, n in counts if skill == "largest") == 2
        assert {n for _, n in counts} == {1, 2, 3, 4}


def test_val_test_and_train_are_disjoint(task, generated):
    val, test = task.load("val"), task.load("test")
    train = [t.example for examples in generated.values() for t in examples]
    keys = [{e.content_key for e in split} for split in (val, test, train)]
    ids = [{e.id for e in split} for split in (val, test, train)]
    assert len(keys[0]) == len(val) and len(keys[1]) == len(test)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert not keys[a] & keys[b] and not ids[a] & ids[b]
    for e in val + test:
        assert task.split_of(e.skill, e.params["scene"], e.prompt) in ("val", "test")
        assert task.verify(TrainingExample(example=e, completion=e.answer)).accepted


def test_splits_are_deterministic_across_instances_and_change_with_split_seed():
    small = ShapesConfig(val_per_skill=5, test_per_skill=5)
    first, second = ShapesTask(small), ShapesTask(small)
    assert first.load("val") == second.load("val") and first.load("test") == second.load("test")
    other = ShapesTask(ShapesConfig(val_per_skill=5, test_per_skill=5, split_seed=1))
    assert {e.id for e in other.load("val")} != {e.id for e in first.load("val")}


def test_load_returns_a_copy(task):
    task.load("val").clear()
    assert len(task.load("val")) == 100 * len(SKILLS)


def test_score_reads_the_first_word_of_the_completion(task):
    example = TaskExample(id="x", skill="colour", prompt="What colour is the circle?", answer="red")
    assert task.score(example, "red")
    assert task.score(example, " Red. It is red")
    assert not task.score(example, "blue red")
    assert not task.score(example, "")
    assert task.answers_equivalent("red", "Red.") and not task.answers_equivalent("red", "blue")


def test_task_declares_an_image_world(task):
    assert task.name == "shapes" and task.modality == "image" and task.max_new_tokens == 2
    assert task.skills == SKILLS
    assert "val_per_skill" not in task.generator_identity()["config"]
    for skill in SKILLS:
        assert "JSON" in task.describe_skill(skill)


# -- what a teacher writes ----------------------------------------------------------------------


def test_teacher_view_round_trips_through_candidate_and_solve(task, generated):
    for examples in generated.values():
        for made in examples[:10]:
            example = made.example
            view = task.teacher_view(example)
            assert "\n" not in view and json.loads(view)["question"] == example.prompt
            assert task.solve(view) == example.answer
            again = task.candidate(example.skill, view, f" {example.answer.upper()} ", "llm")
            assert again.completion == example.answer
            assert again.example.content_key == example.content_key
            assert again.example.image == example.image
            assert task.verify(again).accepted


def test_hand_written_specs_get_the_answers_of_the_pixels(task):
    objects = [(o.shape, o.colour, o.size, o.x, o.y) for o in SCENE.objects]
    for question, expected in EXPECTED.items():
        skill = parse_question(question)[0]
        spec = _spec(objects, question.lower())  # candidate writes the canonical spelling
        assert task.solve(spec) == expected
        assert _check(task, skill, spec, expected).accepted, question


def test_stated_answers_that_are_wrong_are_rejected(task, generated):
    choices = [*COLOURS, *SHAPES, "0", "1", "2", "3", "4", "yes", "no", "left", "right"]
    for examples in generated.values():
        for made in examples[:5]:
            view = task.teacher_view(made.example)
            for wrong in choices:
                if wrong == made.example.answer:
                    continue
                verdict = _check(task, made.example.skill, view, wrong)
                assert verdict.reason == "wrong-answer" and verdict.detail == f"expected {made.example.answer}"
            # A right stated answer with a wrong completion is still wrong.
            lying = TrainingExample(example=made.example, completion="nothing")
            assert task.verify(lying).reason == "wrong-answer"


def test_ambiguous_questions_are_rejected_with_the_reason(task):
    objects = [(o.shape, o.colour, o.size, o.x, o.y) for o in SCENE.objects]
    verdict = _check(task, "colour", _spec(objects, "What colour is the circle?"), "red")
    assert verdict.reason == "unparseable" and "2 circles" in verdict.detail
    assert task.solve(_spec(objects, "What colour is the circle?")) is None
    spec = _spec([("circle", "red", "small", 32, 20)], "Is the red circle on the left or the right?")
    centred = _check(task, "position", spec, "right")
    assert centred.reason == "unparseable" and "centre line" in centred.detail


@pytest.mark.parametrize("objects, fragment", [
    ([("circle", "red", "small", 10, 10), ("square", "blue", "large", 20, 15)], "closer"),
    ([("circle", "red", "large", 60, 30)], "outside"),
    ([("circle", "red", "small", 10**12, 30)], "outside"),
    ([("circle", "red", "small", 6 + 13 * i, 6) for i in range(5)], "at most 4"),
    ([], "no objects"),
])
def test_invalid_scenes_are_rejected(task, objects, fragment):
    spec = _spec(objects, "How many circles are there?")
    verdict = _check(task, "count", spec, "1")
    assert verdict.reason == "unparseable" and fragment in verdict.detail
    assert task.solve(spec) is None


def test_a_tampered_image_is_rejected(task, generated):
    made = generated["colour"][0]
    other = generated["colour"][1].example.image
    tampered = made.model_copy(update={"example": made.example.model_copy(update={"image": other})})
    assert task.verify(tampered).reason == "unparseable"
    missing = made.model_copy(update={"example": made.example.model_copy(update={"image": None})})
    assert "image" in task.verify(missing).detail


def test_a_question_of_another_skill_is_a_skill_mismatch(task):
    objects = [(o.shape, o.colour, o.size, o.x, o.y) for o in SCENE.objects]
    verdict = _check(task, "shape", _spec(objects, "What colour is the square?"), "blue")
    assert verdict.reason == "skill-mismatch"
    assert _check(task, "colours", _spec(objects, "What colour is the square?"), "blue").reason == "unknown-skill"


@pytest.mark.parametrize("text", [
    "{not json",
    "What colour is the circle?",
    '["a list"]',
    '{"objects": []}',
    '{"objects": [{"shape": "star", "colour": "red", "size": "small", "x": 9, "y": 9}], '
    '"question": "Is there a red star?"}',
    '{"objects": "none", "question": 5}',
    "x" * 5000,
])
def test_malformed_specs_are_unparseable_candidates_not_errors(task, text):
    made = task.candidate("exists", text, "yes", "llm")
    assert made.example.image is None and "scene" not in made.example.params
    assert len(made.example.prompt) <= 2000
    verdict = task.verify(made)
    assert verdict.reason == "unparseable" and verdict.detail
    assert task.solve(text) is None


def test_questions_outside_the_templates_are_unparseable_with_the_templates_shown(task):
    objects = [(o.shape, o.colour, o.size, o.x, o.y) for o in SCENE.objects]
    verdict = _check(task, "colour", _spec(objects, "What colour is the big circle?"), "red")
    assert verdict.reason == "unparseable" and "What colour is the <shape>?" in verdict.detail
    # A ready-made example must use the canonical spelling (the teacher's spec is canonicalised for it).
    made = task.candidate("colour", _spec(objects, "what colour is the square?"), "blue", "llm")
    assert made.example.prompt == "What colour is the square?" and task.verify(made).accepted
    lower_case = made.example.model_copy(update={"prompt": "what colour is the square?"})
    lower = made.model_copy(update={"example": lower_case})
    assert task.verify(lower).reason == "unparseable"


def test_sampled_objects_sit_whole_in_distinct_grid_cells():
    from teachenv.tasks.vqa.scene import GRID, sample_scene

    rng = np.random.default_rng(5)
    for image_size in (64, 96):
        cell = image_size // GRID
        for _ in range(200):
            scene = sample_scene(rng, 4, image_size)
            cells = set()
            for obj in scene.objects:
                h = half_extent(obj.size, image_size)
                corners = {((obj.x + dx) // cell, (obj.y + dy) // cell) for dx in (-h, h) for dy in (-h, h)}
                assert len(corners) == 1, obj  # the whole object lies in one cell (one vision patch)
                cells |= corners
            assert len(cells) == 4
