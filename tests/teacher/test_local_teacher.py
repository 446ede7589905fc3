"""``local-teacher`` (a causal LM at a local path, aligned like the tiny teacher): its cache identity follows
the adapter it samples, DPO through ``align_teacher`` saves an adapter and switches to it, and a preference pair
holds the chat-rendered writing request and the JSON reply the LLM engine parses. A tiny untrained Llama with a
chat template stands in for a real model."""

from __future__ import annotations

import json

from teachenv.agents.llm_engine import ExamplesReply, LLMDataEngine
from teachenv.core.config import TinyStudentRecipe
from teachenv.core.ledger import CostLedger
from teachenv.engines.json_reply import parse_reply
from teachenv.student.tiny_model import build_tiny_model
from teachenv.tasks.arith.task import ArithTask
from teachenv.teacher.adapters import adapter_hash
from teachenv.teacher.align import AlignConfig, align_teacher
from teachenv.teacher.local import LocalTeacherBackend, LocalTeacherConfig


def test_the_local_teacher_is_aligned_and_its_identity_follows_the_adapter(tmp_path) -> None:
    model, tokenizer = build_tiny_model(TinyStudentRecipe(hidden_size=16, num_layers=1, num_heads=2,
                                                          intermediate_size=32, pretrain_steps=0, max_positions=2048))
    model.save_pretrained(tmp_path / "teacher")
    tokenizer.save_pretrained(tmp_path / "teacher")
    backend = LocalTeacherBackend.from_config(LocalTeacherConfig(model=str(tmp_path / "teacher")))
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
