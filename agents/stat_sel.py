"""``stat-sel``: STAT-Sel, closed-loop — the same missing-skill profile as ``stat-syn`` (``agents.stat``), but
instead of asking the engine for new examples it *reweights a training pool*: a fixed pool drawn once per
episode from the task's own training side (``pool_per_skill`` items a skill: a generated world's generator,
or a dataset task's training split through ``seed_examples``), from which each round's examples are picked
as ready-made data — the non-replay share spread over the profile's labels in proportion to their counts
(items whose label is a missing subskill, or failing that the subskill's skill), the replay share evenly over
the skills; an item is used at most once an episode.

A pool item's label comes from the pool's own metadata (a generated world's parameters, else the skill),
as STAT-Sel labels its training data once. The profile is the same workspace memo as ``stat-syn``'s, so
the agent's state comes back on resume the same way. It knows the task interface, not the engine.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from pydantic import Field

from teachenv.agents.base import split_evenly
from teachenv.agents.stat import StatConfig, StatSynPolicy
from teachenv.agents.stat_labeller import parse_label, true_labels
from teachenv.core.apportion import apportion
from teachenv.core.records import DataGenerationAction, TrainingExample
from teachenv.envs.state import RoundState
from teachenv.tasks.base import GeneratedTask

ORIGIN = "stat-sel"


class StatSelConfig(StatConfig):
    pool_per_skill: int = Field(2000, ge=1, description="Training-side items per skill in the pool STAT-Sel reweights.")
    pool_seed: int = Field(0, description="Which pool is drawn (fixed across episodes, like a dataset's train split).")


class StatSelPolicy(StatSynPolicy):
    name = "stat-sel"
    Config = StatSelConfig

    def __init__(self, config: StatSelConfig | None = None) -> None:
        super().__init__(config or StatSelConfig())
        self.pool: list[TrainingExample] = []
        self.by_label: dict[str, list[int]] = {}
        self.by_skill: dict[str, list[int]] = {}
        self.used: set[int] = set()

    def attach(self, env: Any) -> None:
        super().attach(env)
        self.pool = self._draw_pool(env.task)
        labels = true_labels(env.task, [item.example for item in self.pool])
        self.by_label, self.by_skill = defaultdict(list), defaultdict(list)
        for i, item in enumerate(self.pool):
            self.by_label[labels[item.example.id]].append(i)
            self.by_skill[item.example.skill].append(i)

    def _draw_pool(self, task: Any) -> list[TrainingExample]:
        config: StatSelConfig = self.config  # type: ignore[assignment]
        rng = np.random.default_rng(config.pool_seed)
        pool: list[TrainingExample] = []
        for skill in task.skills:
            if isinstance(task, GeneratedTask):
                pool.extend(task.generate(skill, config.pool_per_skill, rng))
            else:
                pool.extend(task.candidate(skill, task.teacher_view(e), e.answer, ORIGIN)
                            for e in task.seed_examples(skill, config.pool_per_skill, rng))
        unique = {item.example.content_key: item for item in pool}  # a pool item at most once
        return list(unique.values())

    def reset(self, seed: int) -> None:
        super().reset(seed)
        self.used = set()

    def _pick(self, indices: list[int], count: int) -> list[int]:
        free = [i for i in indices if i not in self.used]
        chosen = [free[j] for j in self.rng.permutation(len(free))[:count]] if free else []
        self.used.update(chosen)
        return chosen

    def allocate(self, state: RoundState) -> DataGenerationAction:
        record = self.profile()
        profile = {name: n for name, n in record["profile"].items() if parse_label(name)[0] in state.skills}
        total = state.examples_per_round
        replay = total if not profile else int(round(total * self.config.replay_share))
        chosen: list[int] = []
        for name, count in zip(profile, apportion(total - replay, list(profile.values())) if profile else []):
            indices = self.by_label.get(name) or self.by_skill.get(parse_label(name)[0], [])
            chosen.extend(self._pick(indices, int(count)))
        for skill, count in zip(state.skills, split_evenly(replay, len(state.skills))):
            chosen.extend(self._pick(self.by_skill.get(skill, []), int(count)))
        examples = tuple(self.pool[i].model_copy(update={"origin": ORIGIN}) for i in chosen)
        return DataGenerationAction(examples=examples)
