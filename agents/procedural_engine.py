"""The procedural data engine of generated worlds: calls the task's own generator per skill.

It costs no tokens and its examples are correct by construction (they are still verified). It
draws without replacement within an episode, so that a teacher asking for 500 examples of a
skill gets 500 new ones rather than repeats the verifier would drop as duplicates — as far as
the skill's training pool allows.

Common random numbers: each (skill, parameters) request draws from its own generator, seeded by the
episode's data seed (the entropy of the generator the environment hands over, the same in every round
of an episode) and the request's key. Two teachers asking for the same skill at the same episode seed
get the same examples in the same order, whatever else they ask for, so a paired comparison of them
measures their choices rather than the luck of the draw.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, ClassVar

import numpy as np

from teachenv.core.errors import ConfigError, InvalidActionError
from teachenv.core.ledger import CostLedger
from teachenv.core.plan import PlanError
from teachenv.core.records import DataGenerationAction, SkillRequest, TrainingExample
from teachenv.engines.base import TextBackend
from teachenv.envs.data_engine import DataEngine, EngineOutput
from teachenv.envs.fresh_draws import DRAW_ROUNDS
from teachenv.tasks.base import GeneratedTask, Task

#: Batches drawn per request before accepting repeats (a nearly exhausted pool must not loop forever); one
#: number with the surrogate's model of this procedure (``teachenv.envs.fresh_draws``).
MAX_DRAW_ROUNDS = DRAW_ROUNDS


class ProceduralEngine(DataEngine):
    name: ClassVar[str] = "procedural"

    def __init__(self, task: Task, ledger: CostLedger, config: None = None, *,
                 teacher: TextBackend | None = None) -> None:
        if not isinstance(task, GeneratedTask):
            raise ConfigError(
                f"The 'procedural' engine needs a task with a generator (like 'arith'); "
                f"task {task.name!r} has none. Set agent.engine.name to an LLM engine."
            )
        super().__init__(task, ledger, config, teacher=teacher)
        self.task: GeneratedTask = task
        self.seen: set[str] = set()
        self.streams: dict[tuple[tuple[int, ...], str], np.random.Generator] = {}

    def reset(self) -> None:
        self.seen.clear()
        self.streams.clear()

    def stream(self, rng: np.random.Generator, skill: str, params: dict[str, Any] | None) -> np.random.Generator:
        """The generator of ``skill`` with ``params`` in this episode: seeded by the episode's data seed
        (``rng``'s seed entropy) and the request's key, and carried on from round to round."""
        entropy = getattr(rng.bit_generator.seed_seq, "entropy", None)
        if entropy is None:  # a generator without a seed sequence: its own next draw names the episode
            entropy = int(rng.integers(0, 2**63 - 1))
        words = tuple(int(w) for w in entropy) if isinstance(entropy, (list, tuple)) else (int(entropy),)
        key = f"{skill}|{json.dumps(params or {}, sort_keys=True, default=str)}"
        if (words, key) not in self.streams:
            self.streams[(words, key)] = np.random.default_rng([*words, zlib.crc32(key.encode())])
        return self.streams[(words, key)]

    def read_plan(self, plan: str) -> tuple[SkillRequest, ...]:
        """The plan grammar's requests, each checked against the generator: parameters it does not take or
        no problem has make the plan unusable (``PlanError``) rather than a round that silently makes less."""
        requests = super().read_plan(plan)
        for request in requests:
            if not request.params:
                continue
            try:
                made = self.task.generate(request.skill, 1, np.random.default_rng(0), dict(request.params))
            except InvalidActionError as exc:
                raise PlanError(f"{request.skill}: {exc}") from None
            if not made:
                raise PlanError(f"{request.skill}: no example has the parameters {dict(request.params)}")
        return requests

    def generate(self, action: DataGenerationAction, rng: np.random.Generator) -> EngineOutput:
        examples: list[TrainingExample] = []
        for request in action.requests:
            params = request.params or None
            examples.extend(self._fresh(request.skill, request.count, self.stream(rng, request.skill, params), params))
        return EngineOutput(examples)

    def _fresh(self, skill: str, count: int, rng: np.random.Generator, params: dict | None) -> list[TrainingExample]:
        """``count`` examples not made before in this episode; repeats only once the pool runs dry."""
        fresh: list[TrainingExample] = []
        for _ in range(MAX_DRAW_ROUNDS):
            missing = count - len(fresh)
            if missing == 0:
                return fresh
            for example in self.task.generate(skill, missing, rng, params):
                key = example.example.content_key
                if key not in self.seen:
                    self.seen.add(key)
                    fresh.append(example)
        # The skill's pool is (nearly) exhausted: fill up with repeats, which the verifier will drop.
        return fresh + self.task.generate(skill, count - len(fresh), rng, params)
