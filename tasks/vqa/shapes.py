"""``ShapesTask``: the offline VQA world of coloured shapes, with a generator and a verifier per skill.

An example is a rendered scene (PNG), a question in one of the six skills' templates and a one-word
answer. Whether an item belongs to the validation or test split is decided by a hash of its skill,
canonical scene and question, so training data never repeats an evaluation item. A text-only
teacher never sees pixels: it reads and writes the scene *specification* (one line of JSON with the
objects and the question); ``candidate`` renders that scene itself and ``verify`` recomputes the
answer from it. This module knows nothing about models or engines.
"""

from __future__ import annotations

import json
import string
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.errors import ConfigError, InvalidActionError
from teachenv.core.hashing import content_hash
from teachenv.core.records import TaskExample, TrainingExample, Verdict
from teachenv.tasks.world import WorldItem, WorldTask
from teachenv.tasks.vqa.questions import (
    SKILLS, AmbiguousQuestion, answer_parsed, canonical_question, make_question, min_objects, parse_question,
    templates_text, vocabulary,
)
from teachenv.tasks.vqa.scene import (
    COLOURS, SHAPES, SIZES, Scene, check_scene, half_extent, render_png, scene_from_dict, scene_from_json,
    scene_to_json,
)

#: Longest raw teacher text kept as the prompt of an unreadable candidate.
MAX_RAW_PROMPT = 2000


class ShapesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    image_size: int = Field(64, ge=64, le=128, description="Side of the square canvas in pixels.")
    max_objects: int = Field(4, ge=1, le=6, description="Most objects in a scene (eval scenes: uniform 1..max).")
    val_per_skill: int = Field(100, ge=1, description="Validation examples per skill.")
    test_per_skill: int = Field(100, ge=1, description="Test examples per skill.")
    holdout: float = Field(0.15, gt=0, le=0.3, description="Share of items held out: half for val, half for test.")
    split_seed: int = Field(0, description="Which held-out items are drawn; fixed across episodes.")


def _first_word(text: str) -> str:
    parts = text.split(maxsplit=1)
    return parts[0].strip(string.punctuation).lower() if parts else ""


class ShapesTask(WorldTask):
    name: ClassVar[str] = "shapes"
    Config: ClassVar[type[BaseModel]] = ShapesConfig
    max_new_tokens: ClassVar[int] = 2
    modality: ClassVar[Literal["text", "image"]] = "image"
    generator_version: ClassVar[int] = 2  # 2: objects sampled on a 4x4 grid, sizes 3 / 5 / 6 px at 64
    env_suffix: ClassVar[str | None] = "-Shapes"  # teachenv/SkillList-Shapes-v0, ...
    config: ShapesConfig

    @property
    def skills(self) -> tuple[str, ...]:
        return SKILLS

    def vocabulary(self) -> tuple[str, ...]:
        return vocabulary()

    # -- examples and splits ---------------------------------------------------------------------

    def _example(self, skill: str, scene: Scene, scene_json: str, question: str, reply: str,
                 prefix: str = "shapes") -> TaskExample:
        return TaskExample(
            id=f"{prefix}/{skill}/{content_hash([scene_json, question])}",
            skill=skill,
            prompt=question,
            answer=reply,
            image=render_png(scene, self.config.image_size),
            params={"objects": len(scene.objects), "scene": scene_json},
        )

    def _object_counts(self, skill: str) -> tuple[int, int]:
        low, high = min_objects(skill), self.config.max_objects
        if low > high:
            raise ConfigError(f"shapes skill {skill!r} needs scenes of at least {low} objects, but "
                              f"task.max_objects={high}: raise task.max_objects to {low} or more.")
        return low, high

    def check_config(self) -> None:
        for skill in SKILLS:
            self._object_counts(skill)

    def held_out_fix(self) -> str:
        return (f"holdout={self.config.holdout}, max_objects={self.config.max_objects}: lower "
                "task.val_per_skill / task.test_per_skill or raise task.holdout.")

    def sample(self, skill: str, rng: np.random.Generator, params: dict | None = None) -> WorldItem | None:
        """An item of ``skill``; ``params={"objects": n}`` fixes the object count."""
        low, high = self._object_counts(skill)
        params = dict(params or {})
        fixed = params.pop("objects", None)
        if params:
            raise InvalidActionError(f"shapes examples take only the parameter 'objects', got {sorted(params)}")
        if fixed is not None and (isinstance(fixed, bool) or not isinstance(fixed, int) or not low <= fixed <= high):
            raise InvalidActionError(f"'objects' for shapes skill {skill!r} must be an integer in {low}..{high} "
                                     f"(task.max_objects={high}), got {fixed!r}")
        n = fixed if fixed is not None else low + int(rng.random() * (high - low + 1))
        scene, question, reply = make_question(skill, rng, n, self.config.image_size)
        scene_json = scene_to_json(scene)
        return WorldItem((scene_json, question), self.split_of(skill, scene_json, question), reply,
                         lambda: self._example(skill, scene, scene_json, question, reply))

    def score(self, example: TaskExample, completion: str) -> bool:
        return _first_word(completion) == example.answer

    def answers_equivalent(self, gold: str, predicted: str) -> bool:
        return _first_word(gold) == _first_word(predicted) != ""

    def subskill_keys(self, skill: str) -> tuple[str, ...]:
        return ("objects",)

    def subskill_params(self, skill: str) -> list[dict]:
        """One subskill per number of objects in the scene (no need to render scenes to find them)."""
        low, high = self._object_counts(skill)
        return [{"objects": n} for n in range(low, high + 1)]

    # -- what an LLM teacher reads and writes ---------------------------------------------------

    def describe_skill(self, skill: str) -> str:
        what = {
            "colour": "'What colour is the <shape>?' where exactly one object has that shape; answer its colour",
            "shape": "'What shape is the <colour> object?' where exactly one object has that colour; answer "
                     "circle, square or triangle",
            "count": "'How many <shape>s are there?'; answer the number of objects of that shape as a digit (0 too)",
            "exists": "'Is there a <colour> <shape>?'; answer yes or no",
            "position": "'Is the <colour> <shape> on the left or the right?' where exactly one object has that colour "
                        "and shape and its centre is clearly off the vertical centre line; answer left or right",
            "largest": "'What colour is the largest object?' where exactly one object has the largest size; answer "
                       "its colour",
        }.get(skill)
        if what is None:
            return skill
        size = self.config.image_size
        extents = ", ".join(f"{s} {half_extent(s, size)}" for s in SIZES)
        return (f"{what}. Write the question as one line of JSON "
                f'{{"objects":[{{"shape":..,"colour":..,"size":..,"x":..,"y":..}},...],"question":".."}} describing '
                f"1 to {self.config.max_objects} objects on a {size}x{size} black canvas (x right, y down, integer "
                f"centre pixels; shapes {'/'.join(SHAPES)}, colours {'/'.join(COLOURS)}; half-widths {extents} px); "
                "objects lie fully inside and at least 2 px apart")

    def teacher_view(self, example: TaskExample) -> str:
        scene_json = example.params.get("scene")
        if not isinstance(scene_json, str):
            return example.prompt
        try:
            scene = scene_from_json(scene_json)
        except ValueError:
            return example.prompt
        objects = [o.model_dump(mode="json") for o in scene.objects]
        return json.dumps({"objects": objects, "question": example.prompt}, separators=(",", ":"))

    def _read_spec(self, text: str) -> tuple[Scene, str]:
        """(scene, question) from a teacher's spec line; ValueError saying what is wrong otherwise."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f'the question must be one line of JSON {{"objects": [...], "question": "..."}}: '
                             f"{error}") from None
        if not isinstance(data, dict) or not isinstance(data.get("question"), str):
            raise ValueError('the question must be a JSON object {"objects": [...], "question": "..."} with the '
                             "question as a string")
        question = data.pop("question")
        return scene_from_dict(data), question

    def candidate(self, skill: str, question: str, answer: str, origin: str) -> TrainingExample:
        reply = answer.strip().lower()
        text = question.strip()
        try:
            scene, asked = self._read_spec(text)
        except ValueError as error:
            example = TaskExample(id=f"{origin}/{skill}/{content_hash(text)}", skill=skill,
                                  prompt=text[:MAX_RAW_PROMPT], answer=reply, params={"error": str(error)[:500]})
            return TrainingExample(example=example, completion=reply, origin=origin)
        parsed = parse_question(asked)
        prompt = canonical_question(*parsed) if parsed else asked.strip()[:MAX_RAW_PROMPT]
        scene_json = scene_to_json(scene)
        if check_scene(scene, self.config.image_size, self.config.max_objects) is None:
            example = self._example(skill, scene, scene_json, prompt, reply, prefix=origin)
        else:  # not drawn (coordinates may be anything); verify names the problem
            example = TaskExample(id=f"{origin}/{skill}/{content_hash([scene_json, prompt])}", skill=skill,
                                  prompt=prompt, answer=reply,
                                  params={"objects": len(scene.objects), "scene": scene_json})
        return TrainingExample(example=example, completion=reply, origin=origin)

    def solve(self, question: str) -> str | None:
        try:
            scene, asked = self._read_spec(question.strip())
        except ValueError:
            return None
        parsed = parse_question(asked)
        if parsed is None or check_scene(scene, self.config.image_size, self.config.max_objects) is not None:
            return None
        try:
            return answer_parsed(scene, *parsed, image_size=self.config.image_size)
        except AmbiguousQuestion:
            return None

    def verify(self, candidate: TrainingExample) -> Verdict:
        example = candidate.example
        if example.skill not in SKILLS:
            return Verdict(accepted=False, reason="unknown-skill", detail=example.skill)
        scene_json = example.params.get("scene")
        if not isinstance(scene_json, str):
            error = example.params.get("error")
            return Verdict(accepted=False, reason="unparseable",
                           detail=str(error) if error else "no scene specification in params['scene']")
        try:
            scene = scene_from_json(scene_json)
        except ValueError as error:
            return Verdict(accepted=False, reason="unparseable", detail=str(error))
        if scene_to_json(scene) != scene_json or example.params.get("objects") != len(scene.objects):
            return Verdict(accepted=False, reason="unparseable",
                           detail="params must hold the scene as canonical JSON (sorted keys, objects in reading "
                                  "order, no spaces) and its number of objects")
        problem = check_scene(scene, self.config.image_size, self.config.max_objects)
        if problem is not None:
            return Verdict(accepted=False, reason="unparseable", detail=problem)
        if example.image != render_png(scene, self.config.image_size):
            return Verdict(accepted=False, reason="unparseable", detail="the image is not the rendering of its scene")
        parsed = parse_question(example.prompt)
        if parsed is None:
            return Verdict(accepted=False, reason="unparseable",
                           detail=f"not a question of the shapes world; ask one of: {templates_text()}")
        canonical = canonical_question(*parsed)
        if example.prompt != canonical:
            return Verdict(accepted=False, reason="unparseable", detail=f"write it as {canonical!r}")
        if parsed[0] != example.skill:
            return Verdict(accepted=False, reason="skill-mismatch",
                           detail=f"a {parsed[0]} question, not a {example.skill} question")
        try:
            expected = answer_parsed(scene, *parsed, image_size=self.config.image_size)
        except AmbiguousQuestion as reason:
            return Verdict(accepted=False, reason="unparseable", detail=f"the question does not apply: {reason}")
        if candidate.completion.strip() != expected or example.answer.strip() != expected:
            return Verdict(accepted=False, reason="wrong-answer", detail=f"expected {expected}")
        return Verdict(accepted=True)
