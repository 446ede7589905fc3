"""``CachedBackend``: a teacher backend whose every call is looked up in, and stored to, the
response cache, keyed by what decides the reply **and by the call's place in the episode**.

Key = the backend's identity (model, endpoint, adapter version) + the request (prompt, system,
schema, sampling, seed) + the episode's seed + (round, call index within the round). So:

- a re-run of the same seeded episode asks the same questions at the same places and makes **zero**
  new calls; a killed run, resumed or re-run, pays only for the calls that were not stored yet;
- a later round asking the same prompt (say the policy's prompt when nothing changed) gets fresh
  samples, not round 1's reply; a different episode seed gets its own samples.

The environment moves the position (``begin_episode`` at reset, ``begin_round`` before each
round's calls). Token usage of a hit is charged to the ledger like a miss, so the episode's log
and budgets do not depend on what was cached; ``stats`` says what was actually paid. Failed calls
(``error`` set) are never stored. It knows nothing about what the requests mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from teachenv.core.cache import ResponseCache
from teachenv.core.hashing import content_hash
from teachenv.engines.base import GenerationRequest, GenerationResult, TextBackend


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    #: Tokens of the misses: what this run actually paid for.
    new_prompt_tokens: int = 0
    new_completion_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class CachedBackend(TextBackend):
    """Wraps ``inner``; ``cache=None`` keeps the positions and stats but stores nothing."""

    def __init__(self, inner: TextBackend, cache: ResponseCache | None) -> None:
        self.inner = inner
        self.cache = cache
        self.model_name = inner.model_name
        self.stats = CacheStats()
        self.episode_seed: int | None = None
        self.round = 0
        self.call_index = 0

    # -- position in the episode -----------------------------------------------------------------
    def begin_episode(self, seed: int | None) -> None:
        """A new episode: round 0, call 0, fresh stats."""
        self.episode_seed, self.round, self.call_index = seed, 0, 0
        self.stats = CacheStats()

    def begin_round(self, round_index: int) -> None:
        """Calls from now on belong to ``round_index``, numbered from 0."""
        self.round, self.call_index = round_index, 0

    def key(self, request: GenerationRequest, call_index: int) -> str:
        return content_hash({
            "backend": self.inner.identity(),
            "request": request.model_dump(mode="json"),
            "episode_seed": self.episode_seed,
            "round": self.round,
            "call": call_index,
        }, length=64)

    # -- TextBackend ---------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        keys = [self.key(r, self.call_index + i) for i, r in enumerate(requests)]
        self.call_index += len(requests)
        stored = self.cache.get_many(keys) if self.cache is not None else {}
        results: list[GenerationResult | None] = [
            GenerationResult.model_validate(stored[k]) if k in stored else None for k in keys
        ]
        missing = [i for i, r in enumerate(results) if r is None]
        self.stats.hits += len(requests) - len(missing)
        if missing:
            fresh = self.inner.generate([requests[i] for i in missing])
            new: dict[str, Any] = {}
            for i, result in zip(missing, fresh, strict=True):
                results[i] = result
                self.stats.misses += 1
                self.stats.new_prompt_tokens += result.prompt_tokens
                self.stats.new_completion_tokens += result.completion_tokens
                if result.error is None:
                    new[keys[i]] = result.model_dump(mode="json")
            if self.cache is not None:
                self.cache.put_many(new)
        return results  # type: ignore[return-value]

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def sleep(self) -> None:
        self.inner.sleep()

    def wake_up(self) -> None:
        self.inner.wake_up()

    def close(self) -> None:
        self.inner.close()
        if self.cache is not None:
            self.cache.close()
