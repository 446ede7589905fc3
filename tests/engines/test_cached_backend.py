"""The cached teacher backend: keys by content and by place in the episode, zero calls on a re-run."""

from __future__ import annotations

from teachenv.core.cache import ResponseCache
from teachenv.core.ledger import CostLedger
from teachenv.engines.base import GenerationRequest, GenerationResult, TextBackend
from teachenv.engines.cached_backend import CachedBackend


class CountingBackend(TextBackend):
    """Answers with a running number, so a reply shows which call produced it."""

    model_name = "counter"

    def __init__(self, fail: set[str] = frozenset()) -> None:
        self.calls = 0
        self.fail = fail

    def generate(self, requests):
        out = []
        for r in requests:
            self.calls += 1
            if r.prompt in self.fail:
                out.append(GenerationResult(text="", prompt_tokens=0, completion_tokens=0, error="HTTP 503"))
            else:
                out.append(GenerationResult(text=f"{r.prompt}#{self.calls}", prompt_tokens=3, completion_tokens=2))
        return out


def requests(*prompts, **kw):
    return [GenerationRequest(prompt=p, **kw) for p in prompts]


def run_episode(backend: CachedBackend, seed: int = 0) -> list[str]:
    """Two rounds asking the same prompts: what a policy asking the same question each round does."""
    backend.begin_episode(seed)
    texts = []
    for round_index in (1, 2):
        backend.begin_round(round_index)
        texts += [r.text for r in backend.generate(requests("plan", "write"))]
        texts += [r.text for r in backend.generate(requests("plan"))]
    return texts


def test_a_rerun_of_the_same_episode_makes_zero_calls(tmp_path):
    inner = CountingBackend()
    first = run_episode(CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite")))
    assert inner.calls == 6
    again = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    assert run_episode(again) == first
    assert inner.calls == 6 and again.stats.hits == 6 and again.stats.misses == 0


def test_the_same_prompt_later_in_the_episode_gets_a_fresh_reply(tmp_path):
    texts = run_episode(CachedBackend(CountingBackend(), ResponseCache(tmp_path / "c.sqlite")))
    plans = [t for t in texts if t.startswith("plan")]
    assert len(set(plans)) == 4  # same prompt, four places (round, call index): four replies


def test_another_episode_seed_or_sampling_setting_is_a_miss(tmp_path):
    inner = CountingBackend()
    run_episode(CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite")), seed=0)
    other_seed = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    run_episode(other_seed, seed=1)
    assert other_seed.stats.misses == 6
    backend = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    backend.begin_episode(0)
    backend.begin_round(1)
    backend.generate(requests("plan", "write", temperature=0.7, seed=3))
    assert backend.stats.misses == 2


def test_a_killed_run_pays_only_for_what_was_not_stored(tmp_path):
    inner = CountingBackend()
    partial = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    partial.begin_episode(0)
    partial.begin_round(1)
    partial.generate(requests("plan", "write"))  # the run dies after its first call
    calls_before = inner.calls
    rerun = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    run_episode(rerun)
    assert rerun.stats.hits == 2 and rerun.stats.misses == 4 and inner.calls == calls_before + 4


def test_failed_calls_are_not_stored_and_hits_are_still_metered(tmp_path):
    inner = CountingBackend(fail={"write"})
    backend = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    run_episode(backend)
    again = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    ledger = CostLedger()
    again.begin_episode(0)
    again.begin_round(1)
    results = again.generate_metered(requests("plan", "write"), ledger, "policy")
    assert results[1].error == "HTTP 503"
    assert again.stats.hits == 1 and again.stats.misses == 1  # the failure is asked again
    assert ledger.tokens["policy"].prompt == 3 and ledger.tokens["policy"].calls == 2
    assert again.stats.new_prompt_tokens == 0


def test_without_a_cache_every_call_reaches_the_backend():
    inner = CountingBackend()
    run_episode(CachedBackend(inner, None))
    run_episode(CachedBackend(inner, None))
    assert inner.calls == 12
