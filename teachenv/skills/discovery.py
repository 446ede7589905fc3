"""``SkillDiscoveryConfig`` and ``discover_skills``: pick the source of a task's skill names.

``metadata`` keeps each example's own ``skill``; ``file`` reads a shipped mapping (for offline use:
no model needed); ``llm`` asks a teacher model (``llm_discovery``, cached on disk). This module only
validates the choice and dispatches; it knows neither how a teacher is asked nor a file's format
(see ``llm_discovery`` and ``mapping``), and it does not decide which split is mapped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.config import BackendSpec
from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import TaskExample
from teachenv.engines.base import TextBackend
from teachenv.skills.llm_discovery import discover_with_llm
from teachenv.skills.mapping import OTHER, SkillMapping, load_mapping

#: Ids named in an error about missing or repeated ids.
SHOWN_IDS = 5


class SkillDiscoveryConfig(BaseModel):
    """Where the skill of each evaluation question comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Literal["metadata", "file", "llm"] = Field(
        "metadata", description="metadata: the task's own labels; file: `mapping_file`; llm: a teacher model "
        "labels and clusters the questions (cached under TEACHENV_HOME/skills)."
    )
    categories: int = Field(8, ge=1, description="llm: at most this many skill categories (plus 'other').")
    mapping_file: str | None = Field(None, description="file: the JSON mapping (example id → category).")
    batch_size: int = Field(20, ge=1, description="llm: questions labelled per teacher request.")
    missing: Literal["error", "other"] = Field(
        "error", description="file: a question the file does not map is an error, or goes to 'other'."
    )
    max_repairs: int = Field(1, ge=0, description="llm: times a bad teacher reply is sent back with the error.")


def discover_skills(examples: Sequence[TaskExample], config: SkillDiscoveryConfig | None = None, *,
                    backend: TextBackend | None = None, ledger: CostLedger | None = None) -> SkillMapping:
    """The skill of every example in ``examples`` (ids must be distinct), from ``config.source``."""
    config = config or SkillDiscoveryConfig()
    repeated = [i for i, n in Counter(e.id for e in examples).items() if n > 1]
    if repeated:
        raise ConfigError(f"skill discovery needs distinct example ids; {len(repeated)} ids repeat, e.g. "
                          f"{repeated[:SHOWN_IDS]}. Give every example of the task a unique id.")
    if config.source == "metadata":
        assignments = {e.id: e.skill for e in examples}
        return SkillMapping(source="metadata", categories=tuple(sorted(set(assignments.values()))),
                            assignments=assignments)
    if config.source == "file":
        return _from_file(examples, config)
    if backend is None:
        raise ConfigError("skills.source='llm' needs a teacher model: pass the agent's teacher backend "
                          "(agent.teacher), or use skills.source='file' with a shipped mapping_file.")
    return discover_with_llm(examples, backend, categories=config.categories, batch_size=config.batch_size,
                             max_repairs=config.max_repairs, ledger=ledger)


def _from_file(examples: Sequence[TaskExample], config: SkillDiscoveryConfig) -> SkillMapping:
    """The file's mapping restricted to ``examples`` (its full category list is kept)."""
    if config.mapping_file is None:
        raise ConfigError("skills.source='file' needs skills.mapping_file: the path of a JSON skill mapping.")
    shipped = load_mapping(config.mapping_file)
    missing = shipped.missing_ids(examples)
    if missing and config.missing == "error":
        raise ConfigError(f"skill mapping file {config.mapping_file!r} does not map {len(missing)} of the "
                          f"{len(examples)} questions, e.g. {missing[:SHOWN_IDS]}; regenerate the file for this "
                          "task, or set skills.missing='other' to put them in 'other'.")
    assignments = {e.id: shipped.assignments.get(e.id, OTHER) for e in examples}
    categories = shipped.categories + ((OTHER,) if missing and OTHER not in shipped.categories else ())
    labels = {i: shipped.labels[i] for i in assignments if i in shipped.labels}
    return SkillMapping(source="file", categories=categories, assignments=assignments, labels=labels,
                        key=shipped.key)


def discover_skills_with(examples: Sequence[TaskExample], config: SkillDiscoveryConfig, teacher: BackendSpec | None,
                         path: str = "task.skills_teacher") -> SkillMapping:
    """``discover_skills`` for a task's config: for the ``llm`` source the ``teacher`` backend spec is built
    (through the registry, as ``agent.teacher`` is), used and closed; ``path`` names it in errors."""
    if config.source != "llm":
        return discover_skills(examples, config)
    if teacher is None:
        raise ConfigError(f"{path} is not set: skills.source='llm' needs a teacher model to label the questions "
                          f"(e.g. {path}: {{name: openai, model: ..., base_url: ...}}).")
    from teachenv.core import registry
    from teachenv.core.config import component_options

    backend_cls: type[TextBackend] = registry.backends.get(teacher.name)
    backend = backend_cls.from_config(component_options(teacher, backend_cls, path=path))
    try:
        return discover_skills(examples, config, backend=backend)
    finally:
        backend.close()


def with_discovered_skills(splits: dict[str, list[TaskExample]], config: SkillDiscoveryConfig | None,
                           teacher: BackendSpec | None) -> dict[str, list[TaskExample]]:
    """``splits`` (name → examples) with every example's skill discovered in one discovery over all of
    them (so they share its categories); unchanged when ``config`` is None or its source is metadata."""
    if config is None or config.source == "metadata":
        return splits
    from teachenv.skills.mapping import apply_mapping

    everything = [e for examples in splits.values() for e in examples]
    mapping = discover_skills_with(everything, config, teacher)
    return {name: apply_mapping(examples, mapping) for name, examples in splits.items()}
