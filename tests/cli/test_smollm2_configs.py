"""The shipped SmolLM2 configs run end to end as `teachenv run` runs them, with stand-ins for SmolLM2 so that
the default test run stays cheap: the untrained plumbing student in place of the SmolLM2 student, and a tiny
untrained Llama saved to disk (character tokenizer with a chat template) in place of the SmolLM2 teacher.

Their validation is in tests/core/test_config.py (every shipped config); the real model runs in
tests/student/test_smollm2_student.py (marked `real_model`)."""

from __future__ import annotations

import pytest

from teachenv.cli.episode import run_episode
from teachenv.core.config import TinyStudentRecipe, load_config
from teachenv.core.run_dir import RunDirectory
from teachenv.student.tiny_model import build_tiny_model

#: A cheap student in place of SmolLM2: untrained, one small layer, 2 items a skill per split, 1 round.
CHEAP = ["student.model=plumbing", "student.tiny.hidden_size=16", "student.tiny.num_layers=1",
         "student.tiny.num_heads=2", "student.tiny.intermediate_size=32", "student.tiny.pretrain_steps=0",
         "task.val_per_skill=2", "task.test_per_skill=2", "env.max_rounds=1"]


def run(config_file: str, tmp_path, *overrides: str) -> tuple[list[dict], RunDirectory]:
    config = load_config(config_file, [*CHEAP, f"runs_dir={tmp_path}", *overrides])
    outcome = run_episode(config, RunDirectory(tmp_path / "run"))
    return outcome.run_dir.episode_rows(), outcome.run_dir


def test_the_smollm2_student_config_trains_chat_prompts_from_the_procedural_engine(tmp_path):
    config = load_config("configs/smollm2-student.yaml")
    assert config.student.model == "smollm2" and config.task.model_dump()["prompt_style"] == "chat"
    rows, _ = run("configs/smollm2-student.yaml", tmp_path, "student.train.max_steps=2")
    assert [r["round"] for r in rows] == [0, 1]
    # The round's examples are exact (procedural), all accepted, and trained with the config's batch size.
    assert rows[1]["examples_accepted"] == config.env.examples_per_round and rows[1]["examples_rejected"] == 0
    assert rows[1]["train"]["steps"] == 2 and rows[1]["train"]["examples"] == config.env.examples_per_round


def test_the_smollm2_teacher_config_records_an_unusable_reply_as_a_no_op_after_its_repair(tmp_path):
    config = load_config("configs/smollm2-teacher.yaml")
    assert (config.agent.teacher.name, config.agent.teacher.model) == ("transformers", "smollm2")
    assert config.agent.teacher.chat_template and config.agent.policy.name == config.agent.engine.name == "llm"
    # A tiny untrained Llama in SmolLM2's place: the same backend from the same config, and a reply that is
    # never JSON.
    model, tokenizer = build_tiny_model(TinyStudentRecipe(hidden_size=32, num_layers=2, num_heads=2,
                                                          intermediate_size=64, pretrain_steps=0))
    teacher = tmp_path / "teacher"
    model.save_pretrained(teacher)
    tokenizer.save_pretrained(teacher)
    assert tokenizer.chat_template, "the stand-in must exercise the chat-template path as SmolLM2 does"
    rows, run_dir = run("configs/smollm2-teacher.yaml", tmp_path, f"agent.teacher.model={teacher}",
                        "agent.policy.max_new_tokens=16", "agent.cache.enabled=false")
    row = rows[1]
    # The policy asked, was sent back its error once (max_repairs: 1), and the round became a recorded no-op.
    assert row["cost"]["tokens"]["policy"]["calls"] == 1 + config.agent.policy.model_dump()["max_repairs"]
    assert row["plan_error"].startswith("the teacher's reply was unusable after 2 attempt(s)")
    assert row["examples_generated"] == 0 and row["train"]["steps"] == 0
    assert (run_dir.root / "rounds" / "1" / "action.json").is_file()


@pytest.mark.parametrize("config_file", ["configs/smollm2-student.yaml", "configs/smollm2-teacher.yaml"])
def test_the_smollm2_configs_name_the_fetchable_model(config_file):
    from teachenv.core.model_store import MODELS

    config = load_config(config_file)
    names = {config.student.model, config.agent.teacher.model if config.agent.teacher else None}
    assert "smollm2" in names and "smollm2" in MODELS
