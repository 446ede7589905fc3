"""TransformersBackend: batched, left-padded generation equals one-at-a-time generation."""

from __future__ import annotations

import pytest
import torch

from teachenv.core.config import TinyStudentRecipe
from teachenv.engines.base import GenerationRequest
from teachenv.engines.transformers_backend import TransformersBackend
from teachenv.student.tiny_model import build_tiny_model
from teachenv.tasks.arith.task import ArithConfig, ArithTask

PLUMBING = TinyStudentRecipe(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, pretrain_steps=0)


@pytest.fixture(scope="module")
def model_and_tokenizer():
    return build_tiny_model(PLUMBING)


@pytest.fixture(scope="module")
def prompts():
    task = ArithTask(ArithConfig(val_per_skill=12))
    # Mixed lengths ("1+2=" … "max(12,34)=" … free text) so batches really need padding.
    return [task.prompt(e) for e in task.load("val")] + ["x", "hello world =", "7*8="]


def test_batched_greedy_equals_one_at_a_time(model_and_tokenizer, prompts):
    model, tokenizer = model_and_tokenizer
    requests = [GenerationRequest(prompt=p, max_new_tokens=6) for p in prompts]
    batched = TransformersBackend(model, tokenizer, batch_size=16).generate(requests)
    single = TransformersBackend(model, tokenizer, batch_size=1).generate(requests)
    assert [r.text for r in batched] == [r.text for r in single]
    assert batched == single


def test_results_come_back_in_request_order(model_and_tokenizer, prompts):
    model, tokenizer = model_and_tokenizer
    backend = TransformersBackend(model, tokenizer, batch_size=8)
    requests = [GenerationRequest(prompt=p, max_new_tokens=6) for p in prompts]
    forward = backend.generate(requests)
    backward = backend.generate(requests[::-1])
    assert forward == backward[::-1]


def test_token_counts_and_finish_reasons(model_and_tokenizer, prompts):
    model, tokenizer = model_and_tokenizer
    results = TransformersBackend(model, tokenizer).generate(
        [GenerationRequest(prompt=p, max_new_tokens=5) for p in prompts])
    for prompt, result in zip(prompts, results, strict=True):
        assert result.prompt_tokens == len(prompt) + 1  # one token per character, after <bos>
        assert 1 <= result.completion_tokens <= 5
        assert len(result.text) <= result.completion_tokens
        if result.finish_reason == "length":
            assert result.completion_tokens == 5
        else:
            assert result.finish_reason == "stop"


def test_stops_at_eos_and_returns_the_completion_only():
    model, tokenizer = build_tiny_model(PLUMBING)
    eos = tokenizer.eos_token_id

    def eos_wins(module, inputs, logits):  # make eos the argmax at every position
        logits = logits.clone()
        logits[..., eos] = 1e4
        return logits

    model.lm_head.register_forward_hook(eos_wins)
    [result] = TransformersBackend(model, tokenizer).generate([GenerationRequest(prompt="12+3=", max_new_tokens=6)])
    assert result.text == "" and result.completion_tokens == 1 and result.finish_reason == "stop"


def test_sampling_is_deterministic_for_a_seed_and_leaves_the_global_rng(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    backend = TransformersBackend(model, tokenizer)
    requests = [GenerationRequest(prompt="12+3=", max_new_tokens=6, temperature=1.0, seed=7)] * 4
    state = torch.get_rng_state()
    first, second = backend.generate(requests), backend.generate(requests)
    assert first == second
    assert torch.equal(torch.get_rng_state(), state)


def test_identical_prompts_beyond_one_batch_do_not_repeat_the_first_batchs_samples(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    requests = [GenerationRequest(prompt="3+4=", max_new_tokens=8, temperature=1.0, seed=5)] * 8
    texts = [r.text for r in TransformersBackend(model, tokenizer, batch_size=4).generate(requests)]
    assert texts[:4] != texts[4:]  # the second batch is seeded apart from the first
    again = [r.text for r in TransformersBackend(model, tokenizer, batch_size=4).generate(requests)]
    assert again == texts
    # A group that fits one batch samples exactly what it did before batches had their own seeds.
    first = [r.text for r in TransformersBackend(model, tokenizer, batch_size=8).generate(requests[:4])]
    assert first == texts[:4]


def test_model_mode_is_restored(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    model.train()
    TransformersBackend(model, tokenizer).generate([GenerationRequest(prompt="1+1=", max_new_tokens=2)])
    assert model.training
    model.eval()


def test_empty_request_list_gives_no_results(model_and_tokenizer):
    assert TransformersBackend(*model_and_tokenizer).generate([]) == []


def test_from_pretrained_loads_any_local_causal_lm(model_and_tokenizer, tmp_path, prompts):
    model, tokenizer = model_and_tokenizer
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = TransformersBackend.from_pretrained(str(tmp_path), batch_size=4)
    assert loaded.model_name == str(tmp_path)
    requests = [GenerationRequest(prompt=p, max_new_tokens=4) for p in prompts[:8]]
    assert loaded.generate(requests) == TransformersBackend(model, tokenizer).generate(requests)


def test_registered_as_the_transformers_backend():
    from teachenv.core.registry import backends

    assert backends.get("transformers") is TransformersBackend


def test_metered_generation_reports_tokens_into_the_ledger_by_role(model_and_tokenizer, prompts):
    from teachenv.core.ledger import CostLedger, TokenPrice

    model, tokenizer = model_and_tokenizer
    backend = TransformersBackend(model, tokenizer, batch_size=4, model_name="tiny-teacher")
    ledger = CostLedger(prices={"tiny-teacher": TokenPrice(prompt=1e6, completion=2e6)})
    requests = [GenerationRequest(prompt=p, max_new_tokens=3) for p in prompts[:5]]
    results = backend.generate_metered(requests, ledger, role="teacher")
    usage = ledger.tokens["teacher"]
    assert usage.calls == 5
    assert usage.prompt == sum(r.prompt_tokens for r in results) > 0
    assert usage.completion == sum(r.completion_tokens for r in results) > 0
    assert ledger.teacher_tokens == usage.prompt + usage.completion
    assert ledger.dollars == pytest.approx(usage.prompt * 1.0 + usage.completion * 2.0)
