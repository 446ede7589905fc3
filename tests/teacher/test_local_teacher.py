"""``local-teacher`` (a causal LM at a local path, aligned like the tiny teacher): its cache identity follows
the adapter it samples, DPO through ``align_teacher`` saves an adapter and switches to it, and a preference pair
holds the chat-rendered writing request and the JSON reply the LLM engine parses; pairs that overflow the
teacher's context are counted (TRL drops or cuts them), and a set that all overflows is an error. A tiny untrained Llama with a
chat template stands in for a real model."""

from __future__ import annotations

import json

import pytest

from teachenv.agents.llm_engine import ExamplesReply, LLMDataEngine
from teachenv.core.config import TinyStudentRecipe
from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.engines.json_reply import parse_reply
from teachenv.student.tiny_model import build_tiny_model
from teachenv.tasks.arith.task import ArithTask
from teachenv.teacher.adapters import adapter_hash
from teachenv.teacher.align import AlignConfig, align_teacher
from teachenv.teacher.local import LocalTeacherBackend, LocalTeacherConfig


def local_teacher(tmp_path, context: int) -> LocalTeacherBackend:
    """An untrained tiny Llama saved to disk and loaded as a local teacher with a ``context``-token window."""
    model, tokenizer = build_tiny_model(TinyStudentRecipe(hidden_size=16, num_layers=1, num_heads=2,
                                                          intermediate_size=32, pretrain_steps=0, max_positions=context))
    model.save_pretrained(tmp_path / "teacher")
    tokenizer.save_pretrained(tmp_path / "teacher")
    return LocalTeacherBackend.from_config(LocalTeacherConfig(model=str(tmp_path / "teacher")))


def test_the_local_teacher_is_aligned_and_its_identity_follows_the_adapter(tmp_path) -> None:
    backend = local_teacher(tmp_path, context=2048)
    assert backend.identity()["adapter"] == "base"
    base = backend.model
    backend.load_adapter(None)
    assert backend.model is base  # the base already: not loaded again (each episode's reset asks for it)
    request = LLMDataEngine(ArithTask(ArithTask.Config()), None, teacher=backend).preference_request("add", {})
    prompt, chosen = backend.preference_text(request, "12+5=", "17")
    assert prompt.startswith("system: ") and "Skill: add" in prompt and prompt.endswith("assistant: ")
    assert parse_reply(chosen, ExamplesReply).examples[0].answer == "17"
    _, rejected = backend.preference_text(request, "12+5=", "18")
    ledger = CostLedger()
    out = align_teacher(backend, [{"prompt": prompt, "chosen": chosen, "rejected": rejected}] * 2,
                        AlignConfig(steps=1, batch_size=2), tmp_path / "adapter", ledger)
    assert backend.identity()["adapter"] == adapter_hash(out) != "base"
    assert ledger.work["teacher_dpo_steps"] == 1
    backend.load_adapter(None)
    assert backend.identity() == {"model": str(tmp_path / "teacher"), "adapter": "base"}
    assert backend.model is not base and not hasattr(backend.model, "peft_config")
    assert json.loads(chosen)["examples"][0]["question"] == "12+5="


def test_pairs_that_overflow_the_teachers_context_are_counted_and_all_overflowing_is_an_error(tmp_path) -> None:
    backend = local_teacher(tmp_path, context=256)
    fits = {"prompt": "12+5=", "chosen": "17", "rejected": "18"}
    cut = {"prompt": "1" * 240 + "=", "chosen": "2" * 20, "rejected": "3"}  # prompt fits, the chosen side does not
    long = {"prompt": "9" * 300 + "=", "chosen": "1", "rejected": "2"}  # the prompt alone fills the context
    ledger = CostLedger()
    align_teacher(backend, [fits, cut, long], AlignConfig(steps=1, batch_size=3), tmp_path / "adapter", ledger)
    assert ledger.work["teacher_dpo_pairs_dropped"] == 1 and ledger.work["teacher_dpo_pairs_truncated"] == 1
    with pytest.raises(ConfigError, match="every pair's prompt is longer than the teacher's context"):
        align_teacher(backend, [long, long], AlignConfig(steps=1), tmp_path / "again")
