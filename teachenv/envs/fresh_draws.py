"""How many of a round's requested examples of a skill the real round keeps, when the skill's pool runs dry.

The procedural engine draws a skill's training problems uniformly (with replacement) from its pool of
``pool`` distinct ones, keeps the ones not drawn before in the episode, and draws again for the missing
ones, at most ``DRAW_ROUNDS`` batches; then it fills up with repeats, which the verifier drops as duplicates.
``expected_fresh`` is the expected number of new problems that procedure yields: what a round that makes no
data (the surrogate's shares-only path) trains on instead of the count asked. It knows pool sizes and the
draw procedure, not the engine, the task or the student.
"""

from __future__ import annotations

import math

#: Batches the procedural engine draws per request before accepting repeats (it takes its ``MAX_DRAW_ROUNDS`` from here).
DRAW_ROUNDS = 20


def expected_fresh(asked: int, pool: int | None, used: int) -> int:
    """The new problems (in expectation, rounded) among the engine's draws for ``asked`` examples of a skill
    whose pool holds ``pool`` distinct training problems, ``used`` of them made earlier in the episode.
    ``pool=None``: a pool too large to run dry (all ``asked`` are new)."""
    if pool is None or asked <= 0:
        return max(asked, 0)
    unseen, fresh = max(pool - used, 0), 0.0
    miss = math.log1p(-1.0 / pool) if pool > 1 else -math.inf  # log P(one draw misses a given problem)
    for _ in range(DRAW_ROUNDS):
        missing, left = asked - fresh, unseen - fresh
        if missing < 0.5 or left < 0.5:
            break
        fresh += left * -math.expm1(missing * miss)  # each unseen problem is hit at least once
    return min(asked, round(fresh))
