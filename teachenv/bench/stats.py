"""Statistics over seeds: a mean with its 95% Student-t interval, and the paired difference of two agents.

Seeds are the unit of replication: every value here is one run's number, and the interval is over
runs. With one value there is no interval (``low``/``high`` are None, shown "n/a"), never a
zero-width one. This module knows numbers and pair keys, not run directories or agents.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean over ``n`` values with its two-sided t-interval (None when ``n`` < 2)."""

    mean: float
    n: int
    low: float | None = None
    high: float | None = None

    @property
    def half_width(self) -> float | None:
        return None if self.high is None else self.high - self.mean

    def format(self, digits: int = 3, *, signed: bool = False, ci: bool = True) -> str:
        """``+0.120 ± 0.034`` (n ≥ 2), ``+0.120 (CI n/a)`` (n = 1), ``-`` (n = 0); the mean alone without ``ci``."""
        if self.n == 0 or math.isnan(self.mean):
            return "-"
        spec = f"{'+' if signed else ''},.{digits}f"
        if not ci:
            return f"{self.mean:{spec}}"
        if self.half_width is None:
            return f"{self.mean:{spec}} (CI n/a)"
        return f"{self.mean:{spec}} ± {self.half_width:,.{digits}f}"


def mean_ci(values: Iterable[float], confidence: float = CONFIDENCE) -> Estimate:
    """The mean of ``values`` and its Student-t interval: mean ± t(1 − α/2, n − 1) · s / √n."""
    from scipy import stats

    data = [float(v) for v in values]
    n = len(data)
    if n == 0:
        return Estimate(mean=math.nan, n=0)
    mean = math.fsum(data) / n
    if n == 1:
        return Estimate(mean=mean, n=1)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sd / math.sqrt(n)
    return Estimate(mean=mean, n=n, low=mean - half, high=mean + half)


@dataclass(frozen=True)
class PairedDifference:
    """``a − b`` over the keys both have: the per-key differences, their mean and interval."""

    estimate: Estimate
    differences: dict[Hashable, float] = field(default_factory=dict)
    only_a: tuple[Hashable, ...] = ()
    only_b: tuple[Hashable, ...] = ()

    @property
    def n_pairs(self) -> int:
        return self.estimate.n


def paired_difference(a: Mapping[Hashable, float], b: Mapping[Hashable, float],
                      confidence: float = CONFIDENCE) -> PairedDifference:
    """Pair ``a`` and ``b`` by key (e.g. episode seed and base-student seed); keys only one side has are
    reported, not used."""
    common = [k for k in a if k in b]
    differences = {k: a[k] - b[k] for k in common}
    return PairedDifference(
        estimate=mean_ci(differences.values(), confidence),
        differences=differences,
        only_a=tuple(k for k in a if k not in b),
        only_b=tuple(k for k in b if k not in a),
    )
