"""The LLM path of STAT's labeller and of AgentInstruct's stages, against the scripted teacher server (the
real HTTP path and JSON validation): planted labelling mistakes show up as lower agreement than the
procedural labeller's, and every stage's prompt kind is answered, logged and verified."""

from __future__ import annotations

import pytest

from teachenv.agents.agent_instruct import AgentInstructConfig, AgentInstructEngine
from teachenv.agents.stat_labeller import LLMLabeller, ProceduralLabeller, WrongAnswer, agreement, true_labels
from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.scripted.backend import ScriptedBackend
from teachenv.tasks.arith.task import ArithTask
from tests.agents.test_agent_instruct import ask

TASK = ArithTask(ArithTask.Config(val_per_skill=12))


def scripted(**options) -> ScriptedBackend:
    config = {"malformed_rate": 0.0, "wrong_rate": 0.0, "backoff_seconds": 0.01, **options}
    return ScriptedBackend(ScriptedBackend.Config(**config), TASK)


def test_llm_labels_with_planted_mistakes_agree_less_than_the_procedural_ones() -> None:
    val = TASK.load("val")
    wrong = [WrongAnswer(example_id=e.id, question=e.prompt, answer="0", gold=e.answer) for e in val]
    truth = true_labels(TASK, val)
    procedural = agreement(ProceduralLabeller(TASK).label(wrong, 0), truth)
    backend, ledger = scripted(wrong_rate=0.25, malformed_rate=0.1), CostLedger()
    try:
        llm = agreement(LLMLabeller(TASK, backend, ledger).label(wrong, 0), truth)
    finally:
        backend.close()
    assert procedural == 1.0
    assert 0.5 < llm < 0.95  # about a quarter of the labels are planted mistakes
    assert ledger.tokens["policy"].calls >= len(wrong)
    with pytest.raises(ConfigError, match="agent.teacher"):
        LLMLabeller(TASK, None, None)


def test_every_agent_instruct_stage_runs_through_the_teacher_and_bad_edits_are_counted() -> None:
    backend, ledger = scripted(wrong_rate=0.3), CostLedger()
    try:
        engine = AgentInstructEngine(TASK, ledger, AgentInstructConfig(stages="llm"), teacher=backend)
        output = ask(engine, 20)
    finally:
        backend.close()
    log = engine.last_log
    assert ledger.tokens["data-engine"].calls >= log["content"]["made"] + log["instructions"]["made"]
    assert log["content"]["kept"] > 0 and log["instructions"]["made"] > 0 and log["refinement"]["made"] > 0
    assert log["instructions"]["rejected"].get("wrong-answer", 0) > 0  # planted wrong answers, caught
    assert log["refinement"]["rejected"].get("wrong-answer", 0) > 0
    assert log["refinement"]["kept"] > 0
    assert all(TASK.verify(c).accepted for c in output.candidates)
    assert len(output.rejected) == sum(log["instructions"]["rejected"].values()) + \
        sum(n for reason, n in log["refinement"]["rejected"].items() if reason != "unparseable")
