"""The procedural data engine of generated worlds: calls the task's own generator per skill.

It costs no tokens and its examples are correct by construction (they are still verified).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, TrainingExample
from teachenv.engines.base import DataEngine
from teachenv.tasks.base import GeneratedTask, Task


class ProceduralEngine(DataEngine):
    name: ClassVar[str] = "procedural"

    def __init__(self, task: Task, ledger: CostLedger, config: None = None) -> None:
        if not isinstance(task, GeneratedTask):
            raise ConfigError(
                f"The 'procedural' engine needs a task with a generator (like 'arith'); "
                f"task {task.name!r} has none. Set agent.engine.name to an LLM engine."
            )
        self.task = task

    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> list[TrainingExample]:
        examples: list[TrainingExample] = []
        for request in action.requests:
            examples.extend(self.task.generate(request.skill, request.count, rng, request.params or None))
        return examples
