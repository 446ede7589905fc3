"""The LLM policy and LLM data engine against the scripted teacher server (the real HTTP path),
the JSON repair path, and a whole episode whose re-run is served from the response cache."""

from __future__ import annotations

import json
from types import SimpleNamespace

import gymnasium
import numpy as np
import pytest

import teachenv  # noqa: F401  (registers the environments)
from teachenv.agents.llm_engine import LLMDataEngine, LLMEngineConfig
from teachenv.engines.json_reply import ask_json
from teachenv.agents.llm_policy import Allocation, LLMPolicy, LLMPolicyConfig
from teachenv.core.config import load_config
from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.engines.base import GenerationRequest, GenerationResult, TextBackend
from teachenv.envs.state import EnvState
from teachenv.scripted.backend import ScriptedBackend
from teachenv.tasks.arith.task import ArithTask

TASK = ArithTask()


class CannedBackend(TextBackend):
    """Replies with the given texts in turn (for the parse / repair logic alone)."""

    model_name = "canned"

    def __init__(self, texts):
        self.texts = list(texts)
        self.prompts = []

    def generate(self, requests):
        out = []
        for r in requests:
            self.prompts.append(r.prompt)
            text = self.texts.pop(0)
            out.append(GenerationResult(text="", prompt_tokens=0, completion_tokens=0, error=text[6:])
                       if text.startswith("ERROR:") else GenerationResult(text=text, prompt_tokens=5, completion_tokens=7))
        return out


def scripted(**options) -> ScriptedBackend:
    config = {"malformed_rate": 0.0, "wrong_rate": 0.0, "backoff_seconds": 0.01, **options}
    return ScriptedBackend(ScriptedBackend.Config(**config), TASK)


def state(**accuracy) -> EnvState:
    acc = {"add": 0.9, "add-carry": 0.4, "sub": 0.05, "mul": 0.3, "max": 0.95, **accuracy}
    return EnvState(round=1, max_rounds=3, skills=TASK.skills, examples_per_round=100, max_per_skill=100,
                    val_accuracy=sum(acc.values()) / 5, val_accuracy_by_skill=acc,
                    accepted_by_skill={s: 0 for s in TASK.skills}, budget_left={"examples": 1.0})


def attached_policy(backend, **config) -> tuple[LLMPolicy, CostLedger]:
    policy, ledger = LLMPolicy(LLMPolicyConfig(**config)), CostLedger()
    policy.attach(SimpleNamespace(teacher=backend, ledger=ledger, task=TASK))
    policy.reset(0)
    return policy, ledger


# -- JSON replies and repairs ----------------------------------------------------------------------

def test_a_bad_reply_is_repaired_with_the_error_quoted_back():
    backend = CannedBackend(['{"allocation": {"add": 5', '```json\n{"allocation": {"add": 5}}\n```'])
    reply = ask_json(backend, CostLedger(), "policy", [GenerationRequest(prompt="p")], Allocation, max_repairs=1)[0]
    assert reply.value == Allocation(allocation={"add": 5}) and reply.attempts == 2
    assert "could not be used: not valid JSON" in backend.prompts[1]


def test_an_unusable_reply_after_the_repairs_is_a_value_of_none_not_an_exception():
    backend = CannedBackend(["no json here", "ERROR:HTTP 503", '{"allocation": "lots"}'])
    ledger = CostLedger()
    replies = ask_json(backend, ledger, "policy", [GenerationRequest(prompt="a"), GenerationRequest(prompt="b")],
                       Allocation, max_repairs=1)
    assert replies[0].value is None and replies[0].attempts == 2 and not replies[0].call_failed
    assert replies[1].value is None and replies[1].call_failed and "HTTP 503" in replies[1].error
    assert ledger.tokens["policy"].calls == 3


# -- the policy --------------------------------------------------------------------------------------

def test_the_llm_policy_asks_the_teacher_and_charges_the_ledger():
    backend = scripted()
    try:
        policy, ledger = attached_policy(backend)
        action = policy.act(state())
    finally:
        backend.close()
    counts = {r.skill: r.count for r in action.requests}
    assert sum(counts.values()) == 100 and counts["sub"] == counts["mul"] == 25  # the two weakest
    assert action.plan and ledger.tokens["policy"].calls == 1 and ledger.teacher_tokens > 0


def test_an_unusable_policy_reply_is_a_recorded_no_op():
    backend = scripted(malformed_rate=1.0)
    try:
        policy, ledger = attached_policy(backend, max_repairs=2)
        action = policy.act(state())
        calls = backend.server.calls
    finally:
        backend.close()
    assert action.requests == () and action.plan.startswith("no-op") and "3 attempt" in action.plan
    assert calls == 3 and ledger.tokens["policy"].calls == 3


def test_a_reply_naming_an_unknown_skill_is_sent_back_for_repair():
    backend = CannedBackend(['{"allocation": {"division": 10}}', '{"allocation": {"sub": 10}}'])
    policy, _ = attached_policy(backend)
    action = policy.act(state())
    assert action.requests == (SkillRequest(skill="sub", count=10),)
    assert "unknown skill(s) ['division']" in backend.prompts[1]


def test_the_llm_policy_without_a_teacher_names_the_setting():
    with pytest.raises(ConfigError, match="agent.teacher"):
        LLMPolicy().attach(SimpleNamespace(teacher=None))


# -- the engine --------------------------------------------------------------------------------------

def engine_output(backend, requests, **config):
    engine = LLMDataEngine(TASK, CostLedger(), LLMEngineConfig(**config), teacher=backend)
    return engine, engine.generate(DataGenerationAction(requests=tuple(requests)), np.random.default_rng(0))


def test_the_llm_engine_writes_verifiable_examples_in_several_calls():
    backend = scripted()
    try:
        engine, output = engine_output(backend, [SkillRequest(skill="sub", count=45), SkillRequest(skill="mul", count=5)],
                                       examples_per_call=20)
        calls = backend.server.calls_by_kind["training_examples"]
    finally:
        backend.close()
    assert calls == 4  # 20 + 20 + 5 for sub, 5 for mul
    assert len(output.candidates) == 50 and output.rejected == []
    assert all(TASK.verify(c).accepted for c in output.candidates)
    assert sum(c.example.skill == "sub" for c in output.candidates) == 45
    assert engine.ledger.tokens["data-engine"].calls == 4


def test_agreement_of_independent_answers_rejects_wrong_examples():
    backend = scripted(wrong_rate=0.3)
    try:
        _, output = engine_output(backend, [SkillRequest(skill="add-carry", count=40)], agreement_samples=2)
    finally:
        backend.close()
    wrong = [r for r in output.rejected if r.reason == "disagreement"]
    assert wrong and all(not TASK.verify(r.candidate).accepted for r in wrong)
    assert output.candidates and all(TASK.verify(c).accepted for c in output.candidates)


def test_unusable_engine_replies_are_kept_as_rejected_with_the_raw_text():
    backend = scripted(malformed_rate=1.0)
    try:
        _, output = engine_output(backend, [SkillRequest(skill="sub", count=10)], max_repairs=1)
    finally:
        backend.close()
    assert output.candidates == [] and [r.reason for r in output.rejected] == ["unparseable"]
    assert output.rejected[0].candidate.example.prompt.startswith("{")  # the half reply, for inspection


def test_the_llm_engine_without_a_teacher_names_the_setting():
    with pytest.raises(ConfigError, match="agent.teacher"):
        LLMDataEngine(TASK, CostLedger(), None, teacher=None)


# -- a whole episode, and its re-run from the cache -----------------------------------------------------

def llm_episode(cache_path, overrides=()):
    config = load_config("configs/llm-scripted.yaml", [
        "student.model=plumbing", "student.train.max_steps=2", "env.examples_per_round=120", "env.max_rounds=2",
        "task.val_per_skill=8", "task.test_per_skill=8", f"agent.cache.path={cache_path}", *overrides])
    env = gymnasium.make(config.env.id, config=config)
    policy = LLMPolicy(LLMPolicyConfig())
    policy.attach(env.unwrapped)
    policy.reset(config.seed)
    rows, done = [], False
    _, info = env.reset(seed=config.seed)
    rows.append(info["round_result"].log_row())
    while not done:
        _, _, terminated, truncated, info = env.step(policy.act(info["state"]))
        rows.append(info["round_result"].log_row())
        done = terminated or truncated
    teacher = env.unwrapped.teacher
    calls, stats = teacher.inner.server.calls, teacher.stats
    env.close()
    return rows, calls, stats


def test_an_llm_episode_trains_on_accepted_data_and_its_rerun_makes_zero_calls(tmp_path):
    rows, calls, stats = llm_episode(tmp_path / "cache.sqlite")
    assert all(r["examples_accepted"] > 0 for r in rows[1:])
    assert calls > 0 and stats.misses == calls and stats.hits == 0
    assert rows[-1]["cost"]["tokens"]["policy"]["calls"] == 2
    again, calls_again, stats_again = llm_episode(tmp_path / "cache.sqlite")
    assert calls_again == 0 and stats_again.hits == stats.misses
    assert json.dumps(again, sort_keys=True) == json.dumps(rows, sort_keys=True)
    other_seed, calls_other, _ = llm_episode(tmp_path / "cache.sqlite", ["seed=1"])
    assert calls_other > 0


def test_the_llm_engine_writes_scene_specifications_that_teachenv_renders_and_checks():
    from teachenv.tasks.vqa.shapes import ShapesConfig, ShapesTask

    shapes = ShapesTask(ShapesConfig(val_per_skill=2, test_per_skill=2))
    backend = ScriptedBackend(
        ScriptedBackend.Config(malformed_rate=0.0, wrong_rate=0.3, backoff_seconds=0.01), shapes)
    try:
        engine = LLMDataEngine(shapes, CostLedger(), LLMEngineConfig(examples_per_call=10, agreement_samples=2),
                               teacher=backend)
        output = engine.generate(DataGenerationAction(requests=(SkillRequest(skill="largest", count=20),)),
                                 np.random.default_rng(0))
    finally:
        backend.close()
    # The teacher wrote JSON scene specifications; teachenv drew each image and recomputed each answer. The
    # scripted teacher's "wrong" answers here ("red (roughly)") agree on the first word, which is all the
    # agreement check reads, so the verifier is what rejects them.
    verdicts = [shapes.verify(c) for c in output.candidates]
    assert len(output.candidates) == 20 and all(c.example.image for c in output.candidates)
    assert all(v.accepted or v.reason == "wrong-answer" for v in verdicts)
    assert 10 <= sum(v.accepted for v in verdicts) < 20
