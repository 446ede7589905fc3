"""What a cached student's ``report.json`` was measured on, and when its numbers may be compared.

A pretrained student (``tiny``, ``tiny-context``, ``tiny-vlm``) is cached under a key over its recipe and the
task's *generator* (``GeneratedTask.generator_identity``), which leaves the split sizes out on purpose: configs
that differ only in ``val_per_skill`` share one student instead of rebuilding it. The accuracies in its
``report.json`` are therefore those of the validation split of whichever config built it first, which need not
be the split a later run evaluates. So the report records exactly what it was measured on (``measured_on``:
the split's name, its item count per skill, the task's ``split_seed`` and a hash of the items' ids), anything
that shows the numbers says so (``describe_measurement``), and a comparison with a run's own numbers is made
only for the same split (``measured_on_same_split``); a report without the record (built before it was kept)
is never comparable.

This module knows tasks' splits and the report's keys; it knows nothing about models, recipes or caches.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teachenv.core.hashing import content_hash

if TYPE_CHECKING:
    from teachenv.core.records import TaskExample
    from teachenv.engines.base import TextBackend
    from teachenv.tasks.base import EvalSplit, Task

#: The report's key holding the per-skill validation accuracy, and the key recording what it was measured on.
ACCURACY_KEY = "val_accuracy"
MEASURED_ON_KEY = "measured_on"

log = logging.getLogger(__name__)


def split_record(task: Task, split: EvalSplit, examples: Sequence[TaskExample] | None = None) -> dict[str, Any]:
    """What ``task``'s ``split`` is (``examples``: its items, loaded if not given), as the report records it."""
    examples = task.load(split) if examples is None else examples
    counts = Counter(e.skill for e in examples)
    return {"split": split, "items_per_skill": {skill: counts.get(skill, 0) for skill in task.skills},
            "split_seed": getattr(getattr(task, "config", None), "split_seed", None),
            "items_hash": content_hash(sorted(e.id for e in examples))}


def measured_validation(backend: TextBackend, task: Task) -> dict[str, Any]:
    """The report's accuracy entries: greedy accuracy per skill on ``task``'s validation split through
    ``backend``, and the record of that split."""
    from teachenv.student.grading import grade_split

    examples = task.load("val")
    report, _ = grade_split(backend, task, "val", examples, task.max_new_tokens)
    entries = {ACCURACY_KEY: report.accuracy_by_skill, MEASURED_ON_KEY: split_record(task, "val", examples)}
    log.info("student built: %s", describe_measurement(entries))
    return entries


def read_report(student_dir: Path) -> dict[str, Any]:
    """The ``report.json`` of a cached student directory."""
    return json.loads((student_dir / "report.json").read_text())


def measured_on_same_split(report: dict[str, Any], task: Task, split: EvalSplit = "val") -> bool:
    """Whether ``report``'s accuracies were measured on exactly ``task``'s ``split``: only then may they be
    compared with an evaluation of that split. False for a report that does not record its split."""
    return report.get(MEASURED_ON_KEY) == split_record(task, split)


def describe_measurement(report: dict[str, Any]) -> str:
    """The report's accuracies with what they were measured on, in one line."""
    accuracy = ", ".join(f"{skill} {value:.3f}" for skill, value in report.get(ACCURACY_KEY, {}).items())
    measured = report.get(MEASURED_ON_KEY)
    if measured is None:
        return (f"validation accuracy {accuracy} (measured on a split the report does not record: built before "
                "reports recorded it; compare it with nothing)")
    counts = measured["items_per_skill"]
    sizes = (f"{next(iter(counts.values()))} items a skill" if len(set(counts.values())) == 1
             else ", ".join(f"{skill} {n} items" for skill, n in counts.items()))
    return (f"validation accuracy {accuracy} (measured on the {measured['split']} split, {sizes}, split_seed "
            f"{measured['split_seed']}; not comparable with another split's numbers)")
