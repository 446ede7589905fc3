"""Where new subskills come from: the world's generator, or the teacher model (through the real
OpenAI protocol against the scripted teacher server)."""

from __future__ import annotations

import numpy as np
import pytest

from teachenv.agents.llm_engine import LLMDataEngine, LLMEngineConfig
from teachenv.core.errors import ConfigError
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.core.ledger import BudgetConfig, CostLedger
from teachenv.engines.openai_backend import OpenAIBackend, OpenAIBackendConfig
from teachenv.envs.skill_tree_state import Subskill
from teachenv.envs.subskills import GeneratorSubskills, LLMSubskills, build_proposer
from teachenv.scripted.brain import ScriptedTeacher
from teachenv.scripted.server import ScriptedTeacherServer
from teachenv.tasks.arith.task import ArithTask
from teachenv.tasks.base import Task

TASK = ArithTask()


@pytest.fixture
def server():
    server = ScriptedTeacherServer(ScriptedTeacher(TASK, malformed_rate=0.0, wrong_rate=0.0)).start()
    yield server
    server.stop()


def backend(server) -> OpenAIBackend:
    return OpenAIBackend(OpenAIBackendConfig(model="scripted-teacher", backoff_seconds=0.01), base_url=server.url,
                         api_key="x")


def test_generator_subskills_are_the_worlds_parameter_settings_in_a_seeded_order():
    proposer = GeneratorSubskills(TASK)
    first = proposer.propose({"mul": ((), 3)}, np.random.default_rng(5))["mul"]
    again = proposer.propose({"mul": ((), 3)}, np.random.default_rng(5))["mul"]
    assert first == again and len({s.name for s in first}) == 3
    assert all(2 <= s.params["multiplier"] <= 9 for s in first)
    rest = proposer.propose({"mul": (tuple(first), 8)}, np.random.default_rng(0))["mul"]
    assert len(rest) == 5 and not {s.name for s in rest} & {s.name for s in first}
    assert proposer.available("mul", [*first, *rest]) == 0


def test_the_teacher_proposes_named_subskills_and_they_reach_the_data_engines_prompt(server):
    ledger = CostLedger(BudgetConfig(), {})
    proposer = LLMSubskills(TASK, backend(server), ledger)
    existing = (Subskill(name="sub/sub case 1", params={"subskill": "sub case 1"}),)
    new = proposer.propose({"sub": (existing, 2), "add": ((), 0)}, np.random.default_rng(0))
    assert [s.name for s in new["sub"]] == ["sub/sub case 2", "sub/sub case 3"] and new["add"] == []
    assert new["sub"][0].params["subskill"] == "sub case 2" and new["sub"][0].params["description"]
    assert server.calls_by_kind["subskills"] == 1 and ledger.tokens["subskills"].calls == 1
    # The LLM data engine asks for the subskill by name and tags what it gets with it.
    engine = LLMDataEngine(TASK, ledger, LLMEngineConfig(few_shot=0), teacher=backend(server))
    request = SkillRequest(skill="sub", count=3, params=dict(new["sub"][0].params))
    output = engine.generate(DataGenerationAction(requests=(request,)), np.random.default_rng(0))
    assert "Subskill: sub case 2 (" in ScriptedTeacher.prompt_of(server.last_body)
    assert len(output.candidates) == 3
    assert all(c.example.params["subskill"] == "sub case 2" for c in output.candidates)


def test_an_unusable_proposal_adds_nothing(server):
    server.fail_next(9, status=400)
    proposer = LLMSubskills(TASK, backend(server), None, max_repairs=0)
    assert proposer.propose({"sub": ((), 2)}, np.random.default_rng(0)) == {"sub": []}


class NoGeneratorTask(Task):
    """A task that cannot split its skills itself (like a real benchmark)."""

    name = "no-generator"
    skills = ("a",)

    def load(self, split):
        return []

    def score(self, example, completion):
        return False

    def verify(self, candidate):
        raise NotImplementedError

    def seed_examples(self, skill, count, rng):
        return []


def test_a_task_without_a_generator_needs_a_teacher_to_propose_subskills(server):
    assert isinstance(build_proposer(TASK, None, None), GeneratorSubskills)
    assert isinstance(build_proposer(NoGeneratorTask(), backend(server), None), LLMSubskills)
    with pytest.raises(ConfigError, match="agent.teacher"):
        build_proposer(NoGeneratorTask(), None, None)
