"""AgentInstruct's three stages on the arith world: the taxonomy weighted by the student's weak skills,
content from the training side or a folder of documents, the suggester / editor making items harder inside
the world's bounds, and an editor that breaks validity caught by verification and counted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from teachenv.agents.agent_instruct import AgentInstructConfig, AgentInstructEngine
from teachenv.agents.agent_instruct_flows import ArithFlows
from teachenv.core.config import apply_overrides
from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.core.run_dir import RunDirectory
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.tasks.arith.editors import HARDER, problem_of
from teachenv.tasks.arith.task import ArithTask
from teachenv.tasks.arith.world import SUBSKILL_KEYS
from tests.envs.memory_student import make_env

TASK = ArithTask()


def ask(engine: AgentInstructEngine, count: int = 100, seed: int = 0):
    requests = tuple(SkillRequest(skill=s, count=count // len(TASK.skills)) for s in TASK.skills)
    return engine.generate(DataGenerationAction(requests=requests), np.random.default_rng(seed))


def test_edited_items_are_harder_verify_and_stay_in_the_world() -> None:
    engine = AgentInstructEngine(TASK, CostLedger())
    output = ask(engine)
    assert len(output.candidates) == 100 and all(TASK.verify(c).accepted for c in output.candidates)
    pairs = engine.last_pairs
    assert len(pairs) >= 40 and all(p["accepted"] for p in pairs)
    for pair in pairs:
        seed, edited = problem_of(pair["seed"]), problem_of(pair["edited"])
        (key,) = SUBSKILL_KEYS[seed.skill]
        assert edited.skill == seed.skill and edited.params["digits"] == seed.params["digits"] == 2
        assert (edited.params[key] - seed.params[key]) * HARDER[seed.skill] > 0
        assert edited.split(TASK.config.holdout) == "train"
    assert engine.last_log["refinement"]["kept"] == len(pairs)
    keys = [c.example.content_key for c in output.candidates]
    again = [c.example.content_key for c in ask(engine, seed=1).candidates]
    assert len(set(keys)) == len(keys) and not set(again) & set(keys)  # no repeat the verifier would drop


class ExtraDigitFlows(ArithFlows):
    """An editor that makes problems 'harder' by leaving the world's range: a third digit on each operand."""

    def edit(self, question: str, suggestion: dict, rng: np.random.Generator) -> str | None:
        problem = problem_of(question)
        return question.replace(str(problem.a), str(problem.a) + "1", 1)


def test_an_editor_that_breaks_validity_is_caught_by_verification_and_counted() -> None:
    engine = AgentInstructEngine(TASK, CostLedger())
    engine.flows = ExtraDigitFlows(TASK)
    output = ask(engine)
    broken = engine.last_log["refinement"]
    assert broken["made"] > 0 and broken["kept"] == 0
    assert sum(broken["rejected"].values()) == broken["made"]
    assert {r.reason for r in output.rejected} <= {"skill-mismatch", "wrong-answer", "unparseable"}
    assert len(output.rejected) == broken["made"]
    assert all(TASK.verify(c).accepted for c in output.candidates)  # the unedited instructions are kept


def test_documents_are_transformed_into_content_and_their_rejections_counted(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("In 1999 the shop sold 47 apples and 38 pears; 12 boxes held 56 eggs.\n")
    (tmp_path / "empty.md").write_text("No figures here.\n")
    config = AgentInstructConfig(seeds="documents", documents=str(tmp_path))
    engine = AgentInstructEngine(TASK, CostLedger(), config)
    output = ask(engine, 20)
    content = engine.last_log["content"]
    assert content["kept"] == 2 and content["rejected"] == {"no-numbers": 1, "out-of-range": 1}
    assert output.candidates
    with pytest.raises(ConfigError, match="documents"):
        AgentInstructEngine(TASK, CostLedger(), AgentInstructConfig(seeds="documents", documents=str(tmp_path / "x")))


def test_the_config_rejects_unknown_instruction_types_and_documents_without_a_folder() -> None:
    with pytest.raises(ValidationError, match="unknown instruction types"):
        AgentInstructConfig(instruction_types={"riddle": 1.0})
    with pytest.raises(ValidationError, match="needs `documents`"):
        AgentInstructConfig(seeds="documents")


CONFIG = apply_overrides(PLUMBING_DEFAULTS, ["env.max_rounds=2", "budget.examples=null", "agent.engine.name=agent-instruct",
                                             "agent.engine.replay_share=0.25",
                                             "env.examples_per_round=60", "env.max_per_skill=60"])


def test_in_an_episode_the_taxonomy_follows_the_weak_skills_and_every_stage_is_logged(tmp_path: Path) -> None:
    RunDirectory(tmp_path).create("a config\n")
    env = make_env("teachenv/SkillList-v0", CONFIG, knows=("add", "max"), run_dir=tmp_path)
    assert isinstance(env.engine, AgentInstructEngine)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.full(len(TASK.skills), 12, dtype=np.int64))
    folder = tmp_path / "rounds" / "1" / "agent"
    taxonomy = json.loads((folder / "agentinstruct-0-taxonomy.json").read_text())
    per_skill = {s: sum(c["count"] for c in taxonomy if c["skill"] == s) for s in TASK.skills}
    # A quarter of the round evenly (3 a skill), the rest (45) by weakness: known skills weigh 0.1, unknown 1.1.
    assert 3 <= per_skill["add"] <= 5 and 3 <= per_skill["max"] <= 5 and per_skill["sub"] >= 3 + 14
    log = json.loads((folder / "agentinstruct-log.json").read_text())
    assert set(log) == {"content", "instructions", "refinement"} and log["refinement"]["kept"] > 0
    for n in ("1-content", "2-instructions", "3-refinement"):
        assert (folder / f"agentinstruct-{n}.json").is_file()
    assert info["round_result"].examples_accepted > 0
