"""Common random numbers: what a teacher does not choose (the examples of a skill, the training seed) is the
same for two teachers at the same episode seed, so their paired difference is their choices' doing."""

from __future__ import annotations

import numpy as np

import teachenv  # noqa: F401  (registers the ids)
from teachenv.agents.procedural_engine import ProceduralEngine
from teachenv.core.config import apply_overrides
from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.core import registry
from memory_student import make_env


def _episode(actions, seed=5):
    """The examples (per skill, in order) the engine made and the training seeds, for ``actions`` at ``seed``."""
    env = make_env("teachenv/SkillList-v0", apply_overrides(PLUMBING_DEFAULTS, []))
    made: dict[str, list[str]] = {}
    seeds: list[int] = []
    generate, train = env.engine.generate, env.student.train

    def spy_generate(action, rng):
        output = generate(action, rng)
        for example in output.candidates:
            made.setdefault(example.example.skill, []).append(example.example.content_key)
        return output

    def spy_train(examples, seed):
        seeds.append(seed)
        return train(examples, seed=seed)

    env.engine.generate, env.student.train = spy_generate, spy_train
    env.reset(seed=seed)
    for action in actions:
        env.step(np.array(action))
    return made, seeds


def test_two_teachers_at_one_seed_get_the_same_examples_of_a_skill_they_both_ask_for():
    # skills: add, add-carry, sub, mul, max. Both ask for `sub`; around it they ask for different things.
    a, seeds_a = _episode([[0, 0, 3, 0, 0], [0, 0, 2, 0, 0], [0, 0, 0, 0, 0]])
    b, seeds_b = _episode([[4, 4, 3, 0, 0], [0, 0, 2, 4, 4], [4, 0, 0, 0, 0]])
    assert a["sub"] == b["sub"] and len(a["sub"]) == 5
    assert seeds_a == seeds_b and len(set(seeds_a)) == 3
    # Another episode seed draws other examples.
    c, seeds_c = _episode([[0, 0, 3, 0, 0], [0, 0, 2, 0, 0], [0, 0, 0, 0, 0]], seed=6)
    assert c["sub"] != a["sub"] and seeds_c != seeds_a


def test_the_engine_keeps_one_stream_per_skill_across_rounds():
    task = registry.tasks.get("arith")()
    engine = ProceduralEngine(task, CostLedger())

    def run(rounds):
        engine.reset()
        keys = []
        for r, requests in enumerate(rounds, start=1):
            rng = np.random.default_rng(np.random.SeedSequence(11, spawn_key=(r,)))
            action = DataGenerationAction(requests=tuple(SkillRequest(skill=s, count=n) for s, n in requests))
            keys += [e.example.content_key for e in engine.generate(action, rng).candidates if e.example.skill == "mul"]
        return keys

    assert run([[("mul", 3)], [("mul", 2)]]) == run([[("add", 7), ("mul", 3)], [("sub", 1), ("mul", 2)]])
