"""``MBPPTask`` (``mbpp``): Mostly Basic Python Problems (the sanitized set), graded by execution.

Rows: ``prompt`` (the description; ``text`` in the full set), ``code`` (a reference solution),
``test_list`` (asserts) and ``test_imports``, from the Hub (``google-research-datasets/mbpp``,
config ``sanitized``) or local files in that shape. The student sees the description and the first
test and writes the whole function; the program is its completion (cut where a function ends and
top-level code begins) run against every test in the sandbox. Splits are MBPP's own: validation
``validation``, test ``test``, and training rows (their reference code as completions) from
``train``. One skill (``all``) unless discovered. A row without code or tests is skipped and reported.
It knows nothing of models or engines.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.records import TaskExample, TrainingExample
from teachenv.core.config import BackendSpec
from teachenv.sandbox import SandboxConfig
from teachenv.skills.discovery import SkillDiscoveryConfig, with_discovered_skills
from teachenv.tasks.base import EvalSplit, GeneratedTask
from teachenv.tasks.code.execution import empty_bodies
from teachenv.tasks.code.graded import ExecutedTask
from teachenv.tasks.dataset_source import load_source, report_skipped

ONE_SKILL = "all"
#: Where the function ends in a completion that writes the whole program.
PROGRAM_STOPS = ("\nif __name__", "\nprint(", "\nassert ", '\n"""', "\n```")


class MBPPConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field("google-research-datasets/mbpp", description="A Hub id, or a local directory / data file.")
    subset: str | None = Field("sanitized", description="The Hub config ('sanitized' or 'full').")
    train_split: str = "train"
    val_split: str = "validation"
    eval_split: str = "test"
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig, description="Limits of the runs that grade.")
    skills: SkillDiscoveryConfig | None = Field(
        None, description="Discover skills (a shipped mapping file, or a teacher that labels and clusters the "
                          "problems; teachenv.skills); default: one skill 'all'.")
    skills_teacher: BackendSpec | None = Field(None, description="The teacher of skills.source 'llm'.")


def program_of(completion: str) -> str:
    """The completion up to where top-level test or demo code begins."""
    cut = min((i for i in (completion.find(s) for s in PROGRAM_STOPS) if i >= 0), default=len(completion))
    return completion[:cut]


class MBPPTask(ExecutedTask, GeneratedTask):
    name: ClassVar[str] = "mbpp"
    Config: ClassVar[type[BaseModel]] = MBPPConfig
    max_new_tokens: ClassVar[int] = 384

    def __init__(self, config: MBPPConfig | None = None) -> None:
        self.config = config or MBPPConfig()
        #: (row, reason) of every row skipped while loading.
        self.skipped: list[tuple[str, str]] = []

    @cached_property
    def _splits(self) -> dict[str, list[TaskExample]]:
        config = self.config
        names = {"train": config.train_split, "val": config.val_split, "test": config.eval_split}
        loaded = load_source(config.source, config.subset, names).splits
        splits = {role: [e for i, raw in enumerate(dataset) if (e := self._example(raw, f"{names[role]}[{i}]"))]
                  for role, dataset in loaded.items()}
        report_skipped(self.name, self.skipped)
        return with_discovered_skills(splits, config.skills, config.skills_teacher)

    def _example(self, raw: dict[str, Any], row: str) -> TaskExample | None:
        text = raw.get("prompt") or raw.get("text")
        code, tests = raw.get("code"), list(raw.get("test_list") or [])
        if not isinstance(text, str) or not isinstance(code, str) or not code.strip() or not tests:
            self.skipped.append((row, "no description, code or tests"))
            return None
        imports = "\n".join(raw.get("test_imports") or [])
        return TaskExample(id=f"mbpp/{raw.get('task_id', row)}", skill=ONE_SKILL,
                           prompt=f'"""\n{text.strip()}\n{tests[0]}\n"""\n', answer=code.strip() + "\n",
                           tests=tuple(f"{imports}\n{t}" if imports else t for t in tests))

    def load(self, split: EvalSplit) -> list[TaskExample]:
        return list(self._splits[split])

    # -- data selection and verification ----------------------------------------------------------
    def generate(self, skill: str, count: int, rng: np.random.Generator,
                 params: dict | None = None) -> list[TrainingExample]:
        rows = [e for e in self._splits["train"] if e.skill == skill]
        picked = rng.choice(len(rows), size=min(count, len(rows)), replace=False) if rows and count > 0 else []
        return [TrainingExample(example=rows[i], completion=rows[i].answer, origin="dataset") for i in picked]

    def solve(self, question: str) -> str | None:
        return next((e.answer for e in self._splits["train"] if e.prompt == question), None)

    def program(self, example: TaskExample, completion: str) -> str:
        return program_of(completion)

    def empty_program(self, example: TaskExample, completion: str) -> str | None:
        return empty_bodies(program_of(completion))
