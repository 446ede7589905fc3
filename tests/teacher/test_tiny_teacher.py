"""The tiny teacher behind the engine interface: the LLM engine parses what it writes, and the response
cache tells its adapters apart by their weights."""

from __future__ import annotations

import numpy as np
import pytest

from teachenv.agents.llm_engine import LLMDataEngine, LLMEngineConfig
from teachenv.core.cache import ResponseCache
from teachenv.core.ledger import CostLedger
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.engines.base import GenerationRequest
from teachenv.engines.cached_backend import CachedBackend
from teachenv.tasks.arith.task import ArithTask


def _lora_adapter(teacher, folder, seed):
    import torch

    torch.manual_seed(seed)
    model = teacher.trainable_model({"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]})
    for name, p in model.named_parameters():
        if "lora_B" in name:  # a non-zero update, so the adapter really changes the teacher
            torch.nn.init.normal_(p, std=0.5)
    model.save_pretrained(folder)
    return folder


def test_the_cache_key_holds_the_adapter_hash(teacher, tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cached = CachedBackend(teacher, cache)
    request = GenerationRequest(prompt="Skill: add\nNumber of examples: 3", temperature=1.0, seed=5, max_new_tokens=64)
    try:
        teacher.load_adapter(None)
        cached.begin_episode(0)
        base_reply = cached.generate([request])[0]
        cached.begin_episode(0)
        assert cached.generate([request])[0] == base_reply and cached.stats.hits == 1  # same teacher: a hit

        teacher.load_adapter(_lora_adapter(teacher, tmp_path / "a1", seed=1))
        assert teacher.identity()["adapter"] not in ("base", None)
        cached.begin_episode(0)
        aligned_reply = cached.generate([request])[0]
        assert cached.stats.misses == 1 and cached.stats.hits == 0  # an adapted teacher never gets base samples
        assert aligned_reply != base_reply  # and its own sample comes from its own weights

        teacher.load_adapter(_lora_adapter(teacher, tmp_path / "a2", seed=2))
        cached.begin_episode(0)
        cached.generate([request])
        assert cached.stats.misses == 1  # another adapter, another key

        teacher.load_adapter(tmp_path / "a1")  # the same weights again: their stored sample comes back
        cached.begin_episode(0)
        assert cached.generate([request])[0] == aligned_reply and cached.stats.hits == 1
    finally:
        teacher.load_adapter(None)
        cache.close()


def test_the_llm_engine_parses_and_verifies_what_it_writes(teacher):
    task = ArithTask()
    ledger = CostLedger()
    engine = LLMDataEngine(task, ledger, LLMEngineConfig(examples_per_call=8, agreement_samples=2), teacher=teacher)
    action = DataGenerationAction(requests=(SkillRequest(skill="add", count=8), SkillRequest(skill="mul", count=4)))
    output = engine.generate(action, np.random.default_rng(0))
    made = len(output.candidates) + sum(r.reason == "disagreement" for r in output.rejected)
    assert made == 12  # every sampled example came back through the engine's JSON path
    assert all(c.origin == "llm" for c in output.candidates)
    assert ledger.tokens["data-engine"].completion > 0


def test_requests_it_cannot_serve_get_an_error_not_a_crash(teacher):
    result = teacher.generate([GenerationRequest(prompt="Plan the next round of training data.")])[0]
    assert result.error and "tiny-teacher" in result.error and result.text == ""


def test_the_aligned_teacher_engine_refuses_a_teacher_it_cannot_train(teacher):
    from teachenv.agents.aligned_teacher import AlignedTeacherEngine
    from teachenv.core.errors import ConfigError
    from teachenv.engines.transformers_backend import TransformersBackend

    frozen = CachedBackend(TransformersBackend(teacher.model, teacher.tokenizer), None)
    with pytest.raises(ConfigError, match="tiny-teacher"):
        AlignedTeacherEngine(ArithTask(), CostLedger(), teacher=frozen)
    assert AlignedTeacherEngine(ArithTask(), CostLedger(), teacher=CachedBackend(teacher, None)).model is teacher
