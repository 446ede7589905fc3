"""Split a whole number of examples over slots in proportion to weights (largest remainders).

Used wherever a count is shared out: clipping a round's requests to its cap, the baseline policies'
allocations, the scripted teacher's replies. It knows nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def apportion(total: int, weights: Sequence[float] | np.ndarray, cap: int | None = None) -> np.ndarray:
    """``total`` split over the slots in proportion to ``weights`` (≥ 0; all zero = evenly), each slot at
    most ``cap``: slots whose share would pass ``cap`` get ``cap`` and the rest is re-split over the
    others. Integer parts are rounded by largest remainders (ties to the earlier slot), so the counts
    sum to ``min(total, cap * len(weights))``."""
    weights = np.asarray(weights, dtype=np.float64)
    if len(weights) and not weights.sum() > 0:
        weights = np.ones(len(weights))
    counts = np.zeros(len(weights), dtype=np.int64)
    free = np.ones(len(weights), dtype=bool)
    left = max(0, min(total, cap * len(weights)) if cap is not None else total) if len(weights) else 0
    while left > 0:
        if not weights[free].sum() > 0:
            weights = np.where(free, 1.0, weights)
        ideal = left * weights[free] / weights[free].sum()
        over = np.flatnonzero(free)[ideal >= cap] if cap is not None else np.array([], dtype=np.int64)
        if not len(over):
            whole = np.floor(ideal).astype(np.int64)
            by_remainder = np.argsort(-(ideal - whole), kind="stable")
            whole[by_remainder[: left - whole.sum()]] += 1
            counts[free] = whole
            break
        counts[over], free[over] = cap, False
        left -= cap * len(over)
    return counts
