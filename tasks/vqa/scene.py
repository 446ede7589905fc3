"""Scenes of the ``shapes`` world: what a scene holds, when it is valid, how it is drawn and sampled.

A scene is a few filled shapes (circle, square, triangle) in pure colours on a black square canvas.
Each object is given by its centre pixel and a size; its bounding box is the centre plus or minus
the size's half-extent (scaled with the canvas). A valid scene has every box inside the canvas and
no two boxes closer than ``MARGIN`` pixels, so every object is fully visible and the image alone
determines the scene. Objects are kept in reading order (top to bottom, then left to right), so
the same objects listed in another order are the same ``Scene`` and the same canonical JSON.

Rendering uses PIL without antialiasing and saves PNG with fixed options: the same scene always
gives the same bytes (the verifier compares them). This module knows nothing about questions,
answers or splits.
"""

from __future__ import annotations

import io
import json
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError, field_validator

Shape = Literal["circle", "square", "triangle"]
Colour = Literal["red", "green", "blue", "yellow"]
Size = Literal["small", "medium", "large"]

SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
COLOURS: tuple[str, ...] = ("red", "green", "blue", "yellow")
SIZES: tuple[str, ...] = ("small", "medium", "large")  # smallest first: the order "largest" uses
RGB: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
}

#: Canvas side the half-extents below are given for; other canvases scale them.
REFERENCE_SIZE = 64
#: Half the side of each size's bounding box on the reference canvas (large = 13 px wide, so that it fits
#: one grid cell with room to spare).
HALF_EXTENTS_AT_64: dict[str, int] = {"small": 3, "medium": 5, "large": 6}
#: Sampled scenes place objects in a GRID x GRID layout of cells (16 px at 64 px), one object per cell.
GRID = 4
#: Empty pixels required between two objects' bounding boxes.
MARGIN = 2
#: Most objects a scene may hold.
MAX_OBJECTS = 6
DEFAULT_IMAGE_SIZE = 64


class SceneObject(BaseModel):
    """One filled shape; ``x``, ``y`` are its centre pixel (x to the right, y down)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    shape: Shape
    colour: Colour
    size: Size
    x: StrictInt
    y: StrictInt

    def describe(self) -> str:
        return f"the {self.size} {self.colour} {self.shape} at ({self.x}, {self.y})"


def _reading_order(obj: SceneObject) -> tuple:
    return obj.y, obj.x, obj.shape, obj.colour, obj.size


class Scene(BaseModel):
    """The objects of one image, kept in reading order (the constructor sorts them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    objects: tuple[SceneObject, ...]

    @field_validator("objects")
    @classmethod
    def _sorted(cls, objects: tuple[SceneObject, ...]) -> tuple[SceneObject, ...]:
        return tuple(sorted(objects, key=_reading_order))


def half_extent(size: str, image_size: int = DEFAULT_IMAGE_SIZE) -> int:
    """Half the side of a ``size`` object's bounding box in pixels, on an ``image_size`` canvas."""
    return int(HALF_EXTENTS_AT_64[size] * image_size / REFERENCE_SIZE + 0.5)


def centre_range(size: str, image_size: int = DEFAULT_IMAGE_SIZE) -> tuple[int, int]:
    """Lowest and highest centre coordinate that keeps a ``size`` object inside the canvas."""
    h = half_extent(size, image_size)
    return h, image_size - 1 - h


def check_scene(scene: Scene, image_size: int = DEFAULT_IMAGE_SIZE, max_objects: int = MAX_OBJECTS) -> str | None:
    """What makes ``scene`` invalid on an ``image_size`` canvas (the first problem found), or None."""
    n = len(scene.objects)
    if n == 0:
        return f"the scene has no objects; give it 1 to {max_objects}"
    if n > max_objects:
        return f"the scene has {n} objects; at most {max_objects} are allowed"
    for obj in scene.objects:
        low, high = centre_range(obj.size, image_size)
        if not (low <= obj.x <= high and low <= obj.y <= high):
            return (f"{obj.describe()} reaches outside the {image_size}x{image_size} canvas: a {obj.size} "
                    f"object's centre must be within {low}..{high} on both axes")
    for i, a in enumerate(scene.objects):
        for b in scene.objects[i + 1:]:
            reach = half_extent(a.size, image_size) + half_extent(b.size, image_size) + MARGIN
            if abs(a.x - b.x) <= reach and abs(a.y - b.y) <= reach:
                return (f"{a.describe()} and {b.describe()} overlap or are closer than {MARGIN} px: their centres "
                        f"must be more than {reach} px apart horizontally or vertically")
    return None


# -- rendering ----------------------------------------------------------------------------------


def _image(scene: Scene, image_size: int) -> Image.Image:
    image = Image.new("RGB", (image_size, image_size), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    for obj in scene.objects:
        h, x, y, fill = half_extent(obj.size, image_size), obj.x, obj.y, RGB[obj.colour]
        if obj.shape == "circle":
            draw.ellipse((x - h, y - h, x + h, y + h), fill=fill)
        elif obj.shape == "square":
            draw.rectangle((x - h, y - h, x + h, y + h), fill=fill)
        else:  # an upward triangle inscribed in the bounding box
            draw.polygon([(x, y - h), (x + h, y + h), (x - h, y + h)], fill=fill)
    return image


def render_array(scene: Scene, image_size: int = DEFAULT_IMAGE_SIZE) -> np.ndarray:
    """The scene as a ``(image_size, image_size, 3)`` uint8 RGB array (row = y, column = x)."""
    return np.asarray(_image(scene, image_size), dtype=np.uint8)


def render_png(scene: Scene, image_size: int = DEFAULT_IMAGE_SIZE) -> bytes:
    """The scene as PNG bytes; identical bytes for the same scene (fixed options, no metadata)."""
    buffer = io.BytesIO()
    _image(scene, image_size).save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


# -- sampling -----------------------------------------------------------------------------------


def sample_scene(rng: np.random.Generator, n_objects: int, image_size: int = DEFAULT_IMAGE_SIZE) -> Scene:
    """A random valid scene of ``n_objects`` objects with uniform shape, colour and size.

    Objects sit in distinct cells of a ``GRID`` x ``GRID`` layout, centred in their cell up to a small
    jitter that keeps each one inside its cell and ``MARGIN`` pixels clear of its neighbours: so a
    vision tower with one patch per cell (16 px at 64 px) sees each object whole in one patch. Any
    valid placement is still a valid scene (``check_scene``); only sampling uses the grid.
    """
    if not 1 <= n_objects <= MAX_OBJECTS:
        raise ValueError(f"n_objects must be 1..{MAX_OBJECTS}, got {n_objects}")
    cell = image_size // GRID
    draws = rng.random((n_objects, 5)).tolist()  # shape, colour, size, jitter x, jitter y
    cells = rng.choice(GRID * GRID, size=n_objects, replace=False).tolist()
    objects = []
    for row, index in zip(draws, cells):
        size = SIZES[int(row[2] * len(SIZES))]
        h = half_extent(size, image_size)
        slack = max(0, (cell - 2 * h - 1 - MARGIN) // 2)  # jitter that keeps MARGIN to any neighbour
        centre_x = (index % GRID) * cell + cell // 2 + int(row[3] * (2 * slack + 1)) - slack
        centre_y = (index // GRID) * cell + cell // 2 + int(row[4] * (2 * slack + 1)) - slack
        objects.append(SceneObject(shape=SHAPES[int(row[0] * len(SHAPES))], colour=COLOURS[int(row[1] * len(COLOURS))],
                                   size=size, x=centre_x, y=centre_y))
    scene = Scene(objects=tuple(objects))
    problem = check_scene(scene, image_size, MAX_OBJECTS)
    if problem is not None:  # only a canvas too small for the grid gets here
        raise ValueError(f"cannot lay out {n_objects} objects on a {image_size}x{image_size} canvas: {problem}")
    return scene


# -- JSON ---------------------------------------------------------------------------------------


def scene_to_json(scene: Scene) -> str:
    """The canonical single-line JSON of ``scene``: sorted keys, no spaces, objects in reading order."""
    return json.dumps(scene.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def scene_from_dict(data: object) -> Scene:
    """A ``Scene`` from parsed JSON; ValueError naming each bad field and value otherwise."""
    if not isinstance(data, dict):
        raise ValueError(f'a scene is a JSON object {{"objects": [...]}}, got {type(data).__name__}')
    try:
        return Scene.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'scene'}: {e['msg']} (got {e.get('input')!r:.60})"
            for e in error.errors()[:5])
        raise ValueError(f"not a valid scene: {problems}") from None


def scene_from_json(text: str) -> Scene:
    """The scene written as JSON by ``scene_to_json`` (or in any key order and spacing)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"a scene must be JSON: {error}") from None
    return scene_from_dict(data)
