"""``SkillMapping``: which skill each evaluation question belongs to, and its file format.

A mapping is a record (example id → category, plus the category list, plus the fine labels an LLM
gave, plus the cache key it was made under); it is also the format of a shipped mapping file and
of the skill-discovery cache, so an LLM-discovered mapping can be copied out of the cache and
shipped for offline use. This module owns reading, writing and applying a mapping; it does not know
how a mapping is discovered (see ``discovery`` and ``llm_discovery``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from teachenv.core.errors import ConfigError
from teachenv.core.records import Record, TaskExample
from teachenv.core.run_dir import atomic_write_json

#: The category of questions no source could place (unknown ids, labels the teacher never grouped).
OTHER = "other"

MappingSource = Literal["metadata", "file", "llm"]


class SkillMapping(Record):
    """Example id → skill category, for the questions of one task."""

    source: MappingSource = Field("file", description="Where the assignments came from.")
    categories: tuple[str, ...] = Field(description="The skill categories, each named once.")
    assignments: dict[str, str] = Field(description="Example id → its category (one of ``categories``).")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Example id → the fine free-form label the teacher gave (llm source only)."
    )
    key: str | None = Field(None, description="Cache key of the inputs an llm mapping was discovered from.")

    @model_validator(mode="after")
    def _assignments_name_categories(self) -> SkillMapping:
        duplicated = sorted(name for name, n in Counter(self.categories).items() if n > 1)
        if duplicated:
            raise ValueError(f"categories are named more than once: {duplicated}")
        known = set(self.categories)
        unknown = sorted({c for c in self.assignments.values() if c not in known})
        if unknown:
            raise ValueError(f"assignments use categories missing from `categories`: {unknown[:5]}")
        return self

    def skill_of(self, example_id: str) -> str:
        """The category of ``example_id``; a ``KeyError`` naming the id if the mapping lacks it."""
        try:
            return self.assignments[example_id]
        except KeyError:
            raise KeyError(f"example id {example_id!r} is not in this skill mapping "
                           f"({len(self.assignments)} ids, source {self.source!r})") from None

    def counts(self) -> dict[str, int]:
        """Questions per category, for every category (0 for an empty one), in ``categories`` order."""
        tally = Counter(self.assignments.values())
        return {c: tally.get(c, 0) for c in self.categories}

    def missing_ids(self, examples: Sequence[TaskExample]) -> list[str]:
        """Ids of ``examples`` the mapping does not assign, in the examples' order."""
        return [e.id for e in examples if e.id not in self.assignments]


def load_mapping(path: str | Path) -> SkillMapping:
    """Read a mapping file; a ``ConfigError`` naming the path and the fix if it cannot be used."""
    path = Path(path)
    fix = ("point skills.mapping_file at a JSON file of the form "
           '{"categories": ["...", ...], "assignments": {"<example id>": "<category>", ...}}')
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"skill mapping file {str(path)!r} does not exist; {fix}.") from None
    except OSError as exc:
        raise ConfigError(f"skill mapping file {str(path)!r} cannot be read ({exc.strerror}); {fix}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"skill mapping file {str(path)!r} is not JSON ({exc.msg} at line {exc.lineno} "
                          f"column {exc.colno}); {fix}.") from None
    try:
        return SkillMapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:5])
        raise ConfigError(f"skill mapping file {str(path)!r} has the wrong shape ({problems}); {fix}.") from None


def save_mapping(path: str | Path, mapping: SkillMapping) -> None:
    """Write ``mapping`` to ``path`` atomically (a temporary sibling renamed into place)."""
    atomic_write_json(Path(path), mapping)


def apply_mapping(examples: Sequence[TaskExample], mapping: SkillMapping) -> list[TaskExample]:
    """Copies of ``examples`` with ``skill`` replaced by the mapping's category (``KeyError`` if one is missing)."""
    return [e.model_copy(update={"skill": mapping.skill_of(e.id)}) for e in examples]
