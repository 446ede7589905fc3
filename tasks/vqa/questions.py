"""Questions of the ``shapes`` world: the six skills, their templates, their answers from a scene.

Each skill has one natural-language template with slots (a shape, a colour or both). A question
is read back with ``parse_question`` (case and spacing are forgiven) and written with
``canonical_question`` (one spelling). ``answer`` computes the answer from the scene alone and
raises ``AmbiguousQuestion`` when the question does not apply (the shape it names appears twice,
the object is on the centre line, ...); ``make_question`` samples a scene and a question that does
apply. Answers are single lower-case words. This module knows nothing about images, splits or
training examples.
"""

from __future__ import annotations

import re

import numpy as np

from teachenv.tasks.vqa.scene import (
    COLOURS, DEFAULT_IMAGE_SIZE, MAX_OBJECTS, REFERENCE_SIZE, SHAPES, SIZES, Scene, sample_scene,
)

SKILLS: tuple[str, ...] = ("colour", "shape", "count", "exists", "position", "largest")

#: The one spelling of each skill's question; slots in braces.
TEMPLATES: dict[str, str] = {
    "colour": "What colour is the {shape}?",
    "shape": "What shape is the {colour} object?",
    "count": "How many {shape}s are there?",
    "exists": "Is there a {colour} {shape}?",
    "position": "Is the {colour} {shape} on the left or the right?",
    "largest": "What colour is the largest object?",
}

#: Distance of an object's centre from the vertical centre line, below which left/right is ambiguous.
MIN_SIDE_OFFSET_AT_64 = 4

_SLOT_PATTERNS = {"shape": "|".join(SHAPES), "colour": "|".join(COLOURS)}
# Matched against the question lower-cased with its whitespace collapsed.
_PATTERNS: dict[str, re.Pattern[str]] = {
    skill: re.compile(
        "^" + re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}>{_SLOT_PATTERNS[m.group(1)]})",
                     re.escape(template.lower())) + "$")
    for skill, template in TEMPLATES.items()
}
# Slots each skill's template takes, and the values a question generator may put in them.
_SLOTS: dict[str, tuple[str, ...]] = {skill: tuple(_PATTERNS[skill].groupindex) for skill in SKILLS}


class AmbiguousQuestion(ValueError):
    """The question is well formed but has no single answer in this scene; the message says why."""


def templates_text() -> str:
    """The templates as one line, for error messages that show what a question may look like."""
    return " | ".join(TEMPLATES[s].replace("{", "<").replace("}", ">") for s in SKILLS)


def canonical_question(skill: str, slots: dict[str, str]) -> str:
    """The one spelling of ``skill``'s question with ``slots`` filled in."""
    if skill not in TEMPLATES:
        raise ValueError(f"unknown skill {skill!r}; the skills are {', '.join(SKILLS)}")
    if set(slots) != set(_SLOTS[skill]):
        raise ValueError(f"skill {skill!r} takes slots {sorted(_SLOTS[skill])}, got {sorted(slots)}")
    return TEMPLATES[skill].format(**slots)


def parse_question(text: str) -> tuple[str, dict[str, str]] | None:
    """(skill, slots) of a question in one of the templates (any case and spacing), or None."""
    normal = " ".join(text.split()).lower()
    for skill, pattern in _PATTERNS.items():
        match = pattern.match(normal)
        if match:
            return skill, match.groupdict()
    return None


def _plural(shape: str, n: int) -> str:
    return shape if n == 1 else f"{shape}s"


def min_side_offset(image_size: int = DEFAULT_IMAGE_SIZE) -> int:
    """How far (px) an object's centre must be from the vertical centre line for a left/right question."""
    return max(2, int(MIN_SIDE_OFFSET_AT_64 * image_size / REFERENCE_SIZE + 0.5))


def answer_parsed(scene: Scene, skill: str, slots: dict[str, str], image_size: int = DEFAULT_IMAGE_SIZE) -> str:
    """The answer to ``skill``'s question with ``slots`` about ``scene``; AmbiguousQuestion if it does not apply."""
    objects = scene.objects
    if skill == "colour":
        matches = [o for o in objects if o.shape == slots["shape"]]
        if len(matches) != 1:
            raise AmbiguousQuestion(f"{len(matches) or 'no'} {_plural(slots['shape'], len(matches))} in the scene")
        return matches[0].colour
    if skill == "shape":
        matches = [o for o in objects if o.colour == slots["colour"]]
        if len(matches) != 1:
            raise AmbiguousQuestion(f"{len(matches) or 'no'} {slots['colour']} "
                                    f"{_plural('object', len(matches))} in the scene")
        return matches[0].shape
    if skill == "count":
        return str(sum(o.shape == slots["shape"] for o in objects))
    if skill == "exists":
        return "yes" if any(o.colour == slots["colour"] and o.shape == slots["shape"] for o in objects) else "no"
    if skill == "position":
        named = f"{slots['colour']} {slots['shape']}"
        matches = [o for o in objects if o.colour == slots["colour"] and o.shape == slots["shape"]]
        if len(matches) != 1:
            raise AmbiguousQuestion(f"{len(matches) or 'no'} {named}{'' if len(matches) == 1 else 's'} in the scene")
        # Pixel x covers [x, x+1): its centre is x + 0.5; the centre line is at image_size / 2.
        offset = matches[0].x + 0.5 - image_size / 2
        needed = min_side_offset(image_size)
        if abs(offset) < needed:
            raise AmbiguousQuestion(f"the {named} is {abs(offset):g} px from the vertical centre line "
                                    f"(at least {needed:g} px is needed to say left or right)")
        return "left" if offset < 0 else "right"
    if skill == "largest":
        if len(objects) < 2:
            raise AmbiguousQuestion("only one object in the scene: 'largest' needs at least 2")
        biggest = max(SIZES.index(o.size) for o in objects)
        matches = [o for o in objects if SIZES.index(o.size) == biggest]
        if len(matches) != 1:
            raise AmbiguousQuestion(f"{len(matches)} objects share the largest size ({SIZES[biggest]})")
        return matches[0].colour
    raise ValueError(f"unknown skill {skill!r}; the skills are {', '.join(SKILLS)}")


def answer(scene: Scene, question: str, image_size: int = DEFAULT_IMAGE_SIZE) -> str:
    """The answer to ``question`` (text in one of the templates) about ``scene``.

    ValueError if the question is not one of the templates; AmbiguousQuestion (a ValueError) with
    the reason if it does not apply to this scene.
    """
    parsed = parse_question(question)
    if parsed is None:
        raise ValueError(f"not a question of the shapes world: {question[:200]!r}; ask one of: {templates_text()}")
    return answer_parsed(scene, *parsed, image_size=image_size)


def _options(skill: str, scene: Scene, image_size: int, want_yes: bool) -> list[tuple[dict[str, str], str]]:
    """Every (slots, answer) of ``skill`` that applies to ``scene`` (for exists: with the wanted answer)."""
    if skill == "exists":
        present = {(o.colour, o.shape) for o in scene.objects}
        if want_yes:
            return [({"colour": c, "shape": s}, "yes") for c, s in sorted(present)]
        colours, shapes = {o.colour for o in scene.objects}, {o.shape for o in scene.objects}
        absent = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in present]
        # A "no" is only informative if it cannot be answered from the colour or the shape alone.
        near = [(c, s) for c, s in absent if c in colours or s in shapes]
        return [({"colour": c, "shape": s}, "no") for c, s in (near or absent)]
    if skill in ("colour", "count"):
        candidates = [{"shape": s} for s in SHAPES]
    elif skill == "shape":
        candidates = [{"colour": c} for c in COLOURS]
    elif skill == "position":
        candidates = [{"colour": o.colour, "shape": o.shape} for o in scene.objects]
    else:
        candidates = [{}]
    options = []
    for slots in candidates:
        try:
            options.append((slots, answer_parsed(scene, skill, slots, image_size)))
        except AmbiguousQuestion:
            continue
    return options


#: Scenes drawn by ``make_question`` before it gives up (a question of any skill applies to most scenes).
_QUESTION_TRIES = 1000


def min_objects(skill: str) -> int:
    """Fewest objects a scene needs for ``skill``'s question to apply."""
    return 2 if skill == "largest" else 1


def make_question(skill: str, rng: np.random.Generator, n_objects: int,
                  image_size: int = DEFAULT_IMAGE_SIZE) -> tuple[Scene, str, str]:
    """A random scene of ``n_objects`` objects with a question of ``skill`` that applies, and its answer.

    The question is uniform over those that apply to the scene; ``exists`` first draws yes or no
    with equal chance.
    """
    if skill not in TEMPLATES:
        raise ValueError(f"unknown skill {skill!r}; the skills are {', '.join(SKILLS)}")
    if not min_objects(skill) <= n_objects <= MAX_OBJECTS:
        raise ValueError(f"a {skill!r} question needs {min_objects(skill)}..{MAX_OBJECTS} objects, got {n_objects}")
    want_yes = bool(rng.random() < 0.5)
    if skill == "count":  # every count 0..n equally likely (a random scene would rarely hold 4 circles)
        shape = SHAPES[int(rng.random() * len(SHAPES))]
        scene = _with_count(sample_scene(rng, n_objects, image_size), shape, int(rng.random() * (n_objects + 1)), rng)
        return scene, canonical_question(skill, {"shape": shape}), answer_parsed(scene, skill, {"shape": shape})
    for _ in range(_QUESTION_TRIES):
        scene = sample_scene(rng, n_objects, image_size)
        options = _options(skill, scene, image_size, want_yes)
        if options:
            slots, reply = options[int(rng.random() * len(options))]
            return scene, canonical_question(skill, slots), reply
    raise ValueError(f"no {skill!r} question applied to {_QUESTION_TRIES} random scenes of {n_objects} objects "
                     f"on a {image_size}x{image_size} canvas")


def _with_count(scene: Scene, shape: str, count: int, rng: np.random.Generator) -> Scene:
    """``scene`` with exactly ``count`` objects (chosen at random) turned into ``shape`` and the rest
    into one of the other shapes (every shape has the same bounding box, so the scene stays valid)."""
    draws = rng.random((len(scene.objects), 2)).tolist()
    order = sorted(range(len(scene.objects)), key=lambda i: draws[i][0])
    chosen = set(order[:count])
    others = [s for s in SHAPES if s != shape]
    return Scene(objects=tuple(
        o.model_copy(update={"shape": shape if i in chosen else others[int(draws[i][1] * len(others))]})
        for i, o in enumerate(scene.objects)))


def words(text: str) -> list[str]:
    """``text`` as the word tokenizer sees it: lower-cased, split on whitespace, '?' a word of its own."""
    return text.lower().replace("?", " ? ").split()


def vocabulary() -> tuple[str, ...]:
    """Every word any question or answer of the world can contain, sorted."""
    questions = [canonical_question(skill, dict(zip(_SLOTS[skill], values)))
                 for skill in SKILLS
                 for values in _slot_values(_SLOTS[skill])]
    answers = [*COLOURS, *SHAPES, *(str(n) for n in range(MAX_OBJECTS + 1)), "yes", "no", "left", "right"]
    return tuple(sorted({w for text in (*questions, *answers) for w in words(text)}))


def _slot_values(slots: tuple[str, ...]) -> list[tuple[str, ...]]:
    values: list[tuple[str, ...]] = [()]
    for slot in slots:
        values = [(*v, choice) for v in values for choice in (SHAPES if slot == "shape" else COLOURS)]
    return values
