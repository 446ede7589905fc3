"""The tiny teacher LM: its ``tiny-teacher`` backend through the LLM engine's reply format, the response
cache telling teachers apart by their adapter, and DPO alignment moving it (the training tests are slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from teachenv.core.cache import ResponseCache
from teachenv.core.config import TaskSpec
from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.engines.base import GenerationRequest
from teachenv.engines.cached_backend import CachedBackend
from teachenv.scripted.backend import world
from teachenv.scripted.teacher_dpo import PreferencePair, TeacherDPOConfig, align_teacher, completion_logprobs
from teachenv.scripted.tiny_teacher import TinyTeacherRecipe, teacher_completion, teacher_prompt
from teachenv.scripted.tiny_teacher_backend import TinyTeacherBackend

#: A teacher that builds in about a second: the plumbing of the backend and the cache, not its quality.
QUICK = TinyTeacherRecipe(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, pretrain_steps=2,
                          batch_size=4)


def writing_request(skill: str = "add", count: int = 3, seed: int = 7) -> GenerationRequest:
    prompt = f"Write new training examples.\nSkill: {skill}\nNumber of examples: {count}\nReply with JSON."
    return GenerationRequest(prompt=prompt, temperature=1.0, seed=seed, max_new_tokens=512)


def pairs_of(task, per_skill: int, seed: int = 0) -> list[PreferencePair]:
    """Correct answer chosen over the same question with the answer shifted by 3."""
    rng = np.random.default_rng(seed)
    out = []
    for skill in task.skills:
        for item in task.generate(skill, per_skill, rng):
            question, answer = task.teacher_view(item.example), item.example.answer
            out.append(PreferencePair(prompt=teacher_prompt(skill), chosen=teacher_completion(question, answer),
                                      rejected=teacher_completion(question, str(int(answer) + 3))))
    return out


#: A small teacher that does learn the format (seconds to build): enough for DPO to have something to move.
SMALL = TinyTeacherRecipe(pretrain_steps=300, batch_size=32)


@pytest.fixture(scope="module")
def arith():
    return world(TaskSpec(name="arith"))


def test_backend_answers_a_writing_request_with_the_engines_json_and_refuses_other_prompts(arith) -> None:
    backend = TinyTeacherBackend.build_for(arith, QUICK)
    written, other = backend.generate([writing_request(count=3), GenerationRequest(prompt="Pick a skill.")])
    assert written.error is None and len(json.loads(written.text)["examples"]) == 3
    assert all(set(item) == {"question", "answer"} for item in json.loads(written.text)["examples"])
    assert other.error is not None and "only writes examples" in other.error
    assert backend.identity()["adapter"] == "base"


def test_the_llm_engine_parses_and_verifies_the_tiny_teachers_examples(arith) -> None:
    from teachenv.agents.llm_engine import LLMDataEngine, LLMEngineConfig
    from teachenv.core.records import DataGenerationAction, SkillRequest

    ledger = CostLedger()
    engine = LLMDataEngine(arith, ledger, LLMEngineConfig(examples_per_call=4, few_shot=0, avoid=0),
                           teacher=TinyTeacherBackend.build_for(arith, QUICK))
    output = engine.generate(DataGenerationAction(requests=(SkillRequest(skill="add", count=6),)),
                             np.random.default_rng(0))
    made = list(output.candidates) + [r.candidate for r in output.rejected]
    assert len(made) == 6 and all(c.example.skill == "add" for c in made)  # two calls: 4 + 2 examples
    assert ledger.tokens["data-engine"].calls == 2
    verdicts = [arith.verify(c) for c in output.candidates]
    assert all(v.accepted == (arith.solve(c.example.prompt) == c.example.answer)  # verification decides
               for c, v in zip(output.candidates, verdicts, strict=True))


def test_an_aligned_teacher_never_receives_the_unaligned_teachers_cached_samples(arith, tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.sqlite"
    base = CachedBackend(TinyTeacherBackend.build_for(arith, QUICK), ResponseCache(cache_path))
    base.begin_episode(0)
    base.generate([writing_request()])
    base.begin_episode(0)
    base.generate([writing_request()])
    assert (base.stats.hits, base.stats.misses) == (1, 0)  # same teacher, same place: served from the cache

    ledger = CostLedger()
    adapter = align_teacher(base.inner, pairs_of(arith, 1), TeacherDPOConfig(steps=1, batch_size=2),
                            tmp_path / "adapter", ledger)
    assert (adapter / "adapter_config.json").is_file() and base.identity()["adapter"] not in ("base", None)
    assert ledger.work["teacher_dpo_steps"] == 1 and ledger.work["teacher_dpo_tokens"] > 0
    base.begin_episode(0)
    base.generate([writing_request()])
    assert (base.stats.hits, base.stats.misses) == (0, 1)  # the aligned teacher samples afresh

    reloaded = TinyTeacherBackend.build_for(arith, QUICK)
    reloaded.load_adapter(adapter)
    again = CachedBackend(reloaded, ResponseCache(cache_path))
    again.begin_episode(0)
    again.generate([writing_request()])
    assert (again.stats.hits, again.stats.misses) == (1, 0)  # the same adapter, loaded anew, is the same teacher


def test_alignment_is_deterministic_and_a_saved_adapter_is_loaded_not_retrained(arith, tmp_path: Path) -> None:
    pairs, config = pairs_of(arith, 1), TeacherDPOConfig(steps=2, batch_size=2)
    first, second = (TinyTeacherBackend.build_for(arith, QUICK) for _ in range(2))
    align_teacher(first, pairs, config, tmp_path / "a")
    align_teacher(second, pairs, config, tmp_path / "b")
    assert first.identity() == second.identity()  # same seed, pairs and config: the same adapter, byte for byte

    resumed, ledger = TinyTeacherBackend.build_for(arith, QUICK), CostLedger()
    mtime = (tmp_path / "a" / "adapter_model.safetensors").stat().st_mtime_ns
    align_teacher(resumed, pairs, config, tmp_path / "a", ledger)  # a resumed round: the adapter is on disk
    assert resumed.identity() == first.identity()
    assert (tmp_path / "a" / "adapter_model.safetensors").stat().st_mtime_ns == mtime
    assert ledger.work["teacher_dpo_steps"] == 2  # counted as an uninterrupted round counts it


def test_a_second_alignment_continues_from_the_first_adapter_and_base_is_restorable(arith, tmp_path: Path) -> None:
    pairs, config = pairs_of(arith, 1), TeacherDPOConfig(steps=2, batch_size=2)
    backend = TinyTeacherBackend.build_for(arith, QUICK)
    base_logprobs = completion_logprobs(backend, pairs)
    base_weights = {k: v.clone() for k, v in backend.base.state_dict().items()}
    align_teacher(backend, pairs, config, tmp_path / ".round1.tmp")
    (tmp_path / ".round1.tmp").rename(tmp_path / "round1")  # as AgentWorkspace.memo_dir renames a built folder
    first = backend.identity()["adapter"]
    backend.load_adapter(tmp_path / "round1")
    assert backend.identity()["adapter"] == first
    align_teacher(backend, pairs, config, tmp_path / "round2")
    assert len({"base", first, backend.identity()["adapter"]}) == 3 and backend.adapter_path == tmp_path / "round2"
    assert completion_logprobs(backend, pairs) != base_logprobs
    backend.load_adapter(None)
    assert backend.identity()["adapter"] == "base"
    weights = backend.model.state_dict()
    assert weights.keys() == base_weights.keys() and all((weights[k] == v).all() for k, v in base_weights.items())
    restored = [x for pair in completion_logprobs(backend, pairs) for x in pair]
    assert restored == pytest.approx([x for pair in base_logprobs for x in pair], abs=1e-4)


def test_align_teacher_refuses_no_pairs_and_load_adapter_a_folder_without_one(arith, tmp_path: Path) -> None:
    backend = TinyTeacherBackend.build_for(arith, QUICK)
    with pytest.raises(ConfigError, match="no preference pairs"):
        align_teacher(backend, [], TeacherDPOConfig(), tmp_path / "a")
    with pytest.raises(ConfigError, match="no adapter_config.json"):
        backend.load_adapter(tmp_path)


@pytest.mark.slow
def test_dpo_raises_the_chosen_over_rejected_margin_and_sft_keeps_the_chosen_logprob(arith, tmp_path: Path) -> None:
    pairs = pairs_of(arith, 3)
    results = {}
    for loss in ("sigmoid", "sigmoid+sft"):
        backend = TinyTeacherBackend.build_for(arith, SMALL)
        before = completion_logprobs(backend, pairs)
        align_teacher(backend, pairs, TeacherDPOConfig(loss=loss, steps=15, learning_rate=2e-3),
                      tmp_path / loss)
        after = completion_logprobs(backend, pairs)
        results[loss] = (before, after)
        margin = [float(np.mean([c - r for c, r in lp])) for lp in (before, after)]
        assert margin[1] > margin[0] + 0.5, (loss, margin)
    chosen = {loss: float(np.mean([c for c, _ in after])) for loss, (_, after) in results.items()}
    chosen_before = float(np.mean([c for c, _ in results["sigmoid+sft"][0]]))
    assert chosen["sigmoid+sft"] > chosen_before - 0.5, (chosen_before, chosen)
    assert chosen["sigmoid+sft"] > chosen["sigmoid"], chosen
