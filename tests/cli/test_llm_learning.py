"""The LLM teacher path teaches for real: 3 rounds of the LLM policy and LLM data engine against the
scripted teacher server, on the real tiny student."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teachenv.cli.episode import run_episode
from teachenv.core.config import load_config
from teachenv.core.run_dir import RunDirectory

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "llm-scripted.yaml"


@pytest.mark.slow
def test_the_llm_teacher_raises_the_skill_it_targets(tmp_path, tiny_student_dir):
    config = load_config(RECIPE, [f"runs_dir={tmp_path}", f"agent.cache.path={tmp_path / 'cache.sqlite'}"])
    outcome = run_episode(config, RunDirectory(tmp_path / "llm"))
    first, last = outcome.first, outcome.last
    rows = [json.loads(line) for line in (tmp_path / "llm" / "episode.jsonl").read_text().splitlines()]
    assert last.round == 3 and all(r["examples_accepted"] > 0 for r in rows[1:])
    # The scripted teacher's occasional wrong answers and malformed replies are caught, not trained on.
    assert sum(sum(r["rejected_by_reason"].values()) for r in rows[1:]) > 0
    sub_before, sub_after = first.val.accuracy_by_skill["sub"], last.val.accuracy_by_skill["sub"]
    assert sub_before < 0.3 and sub_after - sub_before >= 0.2, (sub_before, sub_after)
    assert outcome.teacher_calls["misses"] > 0 and outcome.teacher_calls["hits"] == 0
