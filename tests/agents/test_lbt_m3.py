"""LbT M3 (``agents.lbt_exemplars``): the student is examined before the teacher drafts, its mistakes and the
skill's exemplars reach the teacher's writing request, and the best-scored selected drafts become the next
round's exemplars. Two rounds end to end with a real (plumbing) LoRA student and the scripted teacher served
over the OpenAI protocol; a resume reads the exam and the exemplars back; the configurations M3 cannot guide
are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from run_cut import cut_after_round
from teachenv.agents.lbt import LbtConfig, LbtEngine
from teachenv.agents.lbt_exemplars import guidance, refine
from teachenv.agents.llm_engine import LLMDataEngine, SkillGuidance
from teachenv.core.config import apply_overrides
from teachenv.core.errors import ConfigError
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.envs.defaults import PLUMBING_DEFAULTS
from teachenv.envs.replay import EpisodeReplay
from teachenv.tasks.arith.task import ArithTask

from test_lbt import run_episode  # noqa: E402  (tests/agents is on the path as test_lbt's folder)

M3 = ["agent.teacher.name=scripted", "agent.teacher.malformed_rate=0.0", "agent.teacher.wrong_rate=0.3",
      "agent.engine.name=lbt", "agent.engine.drafts=2", "agent.engine.probe_per_skill=4",
      "agent.engine.inner.name=llm", "agent.engine.inner.examples_per_call=50",
      "agent.engine.m3.exemplars=2", "agent.engine.m3.exam_per_skill=6", "agent.engine.m3.mistakes_shown=4",
      "env.max_rounds=2"]
CONFIG = apply_overrides(PLUMBING_DEFAULTS, M3)


def agent_file(run: Path, k: int, name: str):
    return json.loads((run / "rounds" / str(k) / "agent" / name).read_text())


def test_the_exam_reaches_the_teacher_and_the_best_drafts_become_the_next_exemplars(tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = run_episode(run, config=CONFIG)
    for k in (1, 2):
        exam = agent_file(run, k, "lbt-exam.json")
        assert sorted(exam) == sorted(env.skills) and all(len(items) == 6 for items in exam.values())
        # The untrained plumbing student gets (nearly) everything wrong: mistakes to show.
        missed = {r["question"] for items in exam.values() for r in items if r["credit"] < 1.0}
        assert missed
        drafts = agent_file(run, k, "lbt-drafts.json")
        drafted = {d["question"] for d in drafts}
        # The scripted teacher writes what it is shown the student missed: those questions are drafted.
        shown = {r["question"] for items in exam.values() for r in [x for x in items if x["credit"] < 1.0][:4]}
        assert shown <= drafted
        exemplars = agent_file(run, k, "lbt-exemplars.json")
        for skill, records in exemplars.items():
            picked = sorted((d for d in drafts if d["skill"] == skill and d["selected"]), key=lambda d: -d["score"])
            assert [r["question"] for r in records] == [d["question"] for d in picked[:2]]
    assert env.ledger.work["student_forward_passes"] >= 2 * 6 * len(env.skills)  # the exams at least


def test_the_second_round_is_written_from_the_first_rounds_exemplars_and_mistakes() -> None:
    task = ArithTask(ArithTask.Config())
    exemplars = {"add": [{"question": "1+2=", "answer": "3", "score": 0.5}]}
    exam = {"add": [{"question": "7+8=", "answer": "14", "gold": "15", "credit": 0.0},
                    {"question": "2+2=", "answer": "4", "gold": "4", "credit": 1.0}]}
    guides = guidance(exemplars, exam, shown=5)
    assert guides["add"] == SkillGuidance(exemplars=(("1+2=", "3"),), mistakes=(("7+8=", "14", "15"),))
    from teachenv.scripted.backend import ScriptedBackend

    engine = LLMDataEngine(task, None, teacher=ScriptedBackend(ScriptedBackend.Config(), task))  # type: ignore[arg-type]
    engine.guidance = guides
    prompt = engine._writing_request(SkillRequest(skill="add", count=4), 4, None, np.random.default_rng(0)).prompt
    assert "  1+2= → 3" in prompt and "  7+8= → 14; correct: 15" in prompt
    shown = [line for line in prompt.splitlines() if line.startswith("  ") and " → " in line]
    assert shown == ["  1+2= → 3", "  7+8= → 14; correct: 15"]  # the exemplar replaced the seed examples
    out = engine.generate(DataGenerationAction(requests=(SkillRequest(skill="add", count=4),)), np.random.default_rng(0))
    assert out.candidates[0].example.prompt == "7+8=" and out.candidates[0].completion == "15"


def test_refine_keeps_a_skills_set_when_none_of_its_drafts_was_selected() -> None:
    task = ArithTask(ArithTask.Config())
    drafts = [task.candidate("add", q, a, "x") for q, a in (("1+1=", "2"), ("2+3=", "5"), ("4+4=", "8"))]
    kept = {"sub": [{"question": "5-1=", "answer": "4", "score": 0.0}]}
    refined = refine(kept, task, drafts, [0.1, 0.9, 0.5], [True, True, False], size=1)
    assert refined == {"add": [{"question": "2+3=", "answer": "5", "score": 0.9}], "sub": kept["sub"]}


def test_a_resume_reads_the_exam_and_the_exemplars_back(tmp_path: Path, monkeypatch) -> None:
    whole = tmp_path / "whole"
    run_episode(whole, config=CONFIG)
    cut = tmp_path / "cut"
    run_dir = cut_after_round(whole, cut, 1)
    import teachenv.agents.lbt as lbt

    calls = []
    real_exam = lbt.exam
    monkeypatch.setattr(lbt, "exam", lambda *a, **k: calls.append(1) or real_exam(*a, **k))
    run_episode(cut, EpisodeReplay(run_dir), config=CONFIG)
    assert len(calls) == 1  # round 2 only
    for k in (1, 2):
        for name in ("lbt-exam.json", "lbt-exemplars.json", "lbt-drafts.json"):
            assert (cut / "rounds" / str(k) / "agent" / name).read_bytes() == \
                (whole / "rounds" / str(k) / "agent" / name).read_bytes()
    rows = [{k: v for k, v in json.loads(line).items() if k != "timings"}
            for line in (cut / "episode.jsonl").read_text().splitlines()]
    whole_rows = [{k: v for k, v in json.loads(line).items() if k != "timings"}
                  for line in (whole / "episode.jsonl").read_text().splitlines()]
    assert [r.get("examples_accepted") for r in rows] == [r.get("examples_accepted") for r in whole_rows]


def test_m3_needs_a_teacher_that_reads_its_prompt_through_engine_llm() -> None:
    task = ArithTask(ArithTask.Config())
    with pytest.raises(ConfigError, match="asks no teacher"):
        LbtEngine(task, None, LbtConfig(inner={"name": "procedural"}, m3={}))  # type: ignore[arg-type]

    from teachenv.teacher.backend import TinyTeacherBackend

    assert TinyTeacherBackend.reads_prompt is False  # the tiny teacher is refused by the check below

    class SkillTagOnly:
        reads_prompt = False

    with pytest.raises(ConfigError, match="writes from the skill tag alone"):
        LbtEngine(task, None, LbtConfig(inner={"name": "llm"}, m3={}), teacher=SkillTagOnly())  # type: ignore[arg-type]
