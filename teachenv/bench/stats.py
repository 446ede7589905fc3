"""Statistics over seeds: a mean with its 95% Student-t interval, the paired difference of two agents,
what a paired comparison can resolve at its seed count, and Holm's correction for several claims.

Seeds are the unit of replication: every value here is one run's number, and the interval is over
runs. With one value there is no interval (``low``/``high`` are None, shown "n/a"), never a
zero-width one. This module knows numbers and pair keys, not run directories or agents.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

CONFIDENCE = 0.95
#: The power at which ``minimum_detectable_difference`` is quoted (the usual 80%).
POWER = 0.8


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

    @property
    def sd(self) -> float | None:
        """Standard deviation of the per-key differences (None with fewer than two)."""
        return sample_sd(self.differences.values())

    @property
    def minimum_detectable(self) -> float | None:
        """The smallest true difference this many pairs, with this spread, would detect (see
        ``minimum_detectable_difference``)."""
        sd = self.sd
        return None if sd is None else minimum_detectable_difference(sd, self.n_pairs)

    @property
    def p_greater(self) -> float | None:
        """One-sided paired t-test p-value of "a > b" (None with fewer than two pairs)."""
        return p_value_greater(list(self.differences.values()))


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


def sample_sd(values: Iterable[float]) -> float | None:
    data = [float(v) for v in values]
    if len(data) < 2:
        return None
    mean = math.fsum(data) / len(data)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (len(data) - 1))


def minimum_detectable_difference(sd: float, n: int, confidence: float = CONFIDENCE, power: float = POWER) -> float | None:
    """The true mean difference a two-sided paired t-test at ``1 − confidence`` detects with probability
    ``power`` over ``n`` pairs whose differences spread by ``sd``: (t(1 − α/2, n − 1) + t(power, n − 1)) · sd / √n.

    A comparison whose interval covers 0 says nothing about differences smaller than this; a suite that
    must resolve them needs more seeds or less noise per seed."""
    from scipy import stats

    if n < 2:
        return None
    df = n - 1
    return (float(stats.t.ppf(0.5 + confidence / 2, df)) + float(stats.t.ppf(power, df))) * sd / math.sqrt(n)


def p_value_greater(differences: list[float]) -> float | None:
    """One-sided paired t-test of "mean difference > 0": P(T ≥ t) with n − 1 degrees of freedom.

    Differences with no spread give 0 when all are positive and 1 otherwise (the t statistic is infinite
    or undefined there)."""
    from scipy import stats

    n = len(differences)
    if n < 2:
        return None
    mean = math.fsum(differences) / n
    sd = sample_sd(differences)
    if not sd:
        return 0.0 if mean > 0 else 1.0
    return float(stats.t.sf(mean / (sd / math.sqrt(n)), n - 1))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: p-values that control the family-wise error rate over all of them.

    Sorted ascending, the i-th (from 0) becomes max over j ≤ i of min(1, (m − j) · p_j); returned in the
    order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
