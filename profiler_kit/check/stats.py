"""Statistics for performance checks: is the current run really slower?

A check compares repeated measurements of a baseline with repeated
measurements of the current code. Timings are noisy (other processes, CPU
frequency, caches, the garbage collector) and their distributions are skewed
with long right tails, so the comparison uses methods that assume nothing
about the shape of the distribution:

* :func:`mann_whitney_u`, a rank test: is the current sample shifted towards
  larger values? Ranks make it robust to the outliers timings always have
  (one 10x-slow run moves a mean a lot and a rank test hardly at all).
* :func:`ratio_of_medians_ci`, a percentile bootstrap confidence interval of
  ``median(current) / median(baseline)``: how much slower, and how sure is
  that size?

:func:`compare_timings` calls a metric regressed only when *both* hold: the
shift is statistically significant *and* it is larger than the threshold. A
significance test alone cries wolf, because with enough samples a 0.3% shift
(a different memory layout, a warmer cache) is significant but nobody cares.
A threshold alone cries wolf too, because a 10% difference between the
medians of a noisy metric measured a few times is often chance. Requiring
both keeps the check quiet unless a change is both real and big enough to
matter.

Counts (function calls, allocations, queries) are nearly deterministic, so
:func:`compare_count` compares single numbers against a relative tolerance.

Everything here is pure Python (no numpy or scipy at run time) and
deterministic: the bootstrap draws from a :class:`random.Random` seeded by
the caller, so the same samples always give the same report.
"""

from __future__ import annotations

import functools
import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from profiler_kit.analysis.durations import percentile

__all__ = [
    "EXACT_MAX_PAIRS",
    "EXACT_MAX_SMALLER",
    "MIN_SAMPLES",
    "Alternative",
    "CountComparison",
    "Method",
    "TimingComparison",
    "Verdict",
    "compare_count",
    "compare_timings",
    "mann_whitney_u",
    "ratio_of_medians_ci",
]

Alternative = Literal["greater", "less", "two-sided"]
Method = Literal["auto", "exact", "asymptotic"]
Verdict = Literal["regressed", "improved", "unchanged", "too few samples", "advisory"]

#: Fewer samples than this on either side and :func:`compare_timings` does not
#: test at all: with two samples each no rank order is rare enough to be
#: significant at the usual levels (the smallest one-sided p-value is 1/6).
MIN_SAMPLES = 3

#: :func:`mann_whitney_u` computes the exact null distribution (when there
#: are no ties) if the smaller sample has at most this many values (and there
#: are at most 10,000 pairs) ...
EXACT_MAX_SMALLER = 10
#: ... or the samples make at most this many pairs (50 x 50; the exact
#: distribution then takes at most ~25 ms, once per pair of sizes). Beyond
#: that the normal approximation is used: it errs on the safe side in the
#: tails, by about 2% of the p-value at p = 0.01 for 60 x 60 samples. Smaller
#: samples need the exact distribution: the approximation is 6% off at
#: 20 x 20, 14% at 10 x 10.
EXACT_MAX_PAIRS = 2500


# --------------------------------------------------------------------------
# Mann-Whitney U


def mann_whitney_u(
    a: Sequence[float],
    b: Sequence[float],
    alternative: Alternative = "greater",
    *,
    method: Method = "auto",
) -> tuple[float, float]:
    """The Mann-Whitney U test of ``b`` (current) against ``a`` (baseline).

    Returns ``(u, p)``. ``u`` is the U statistic of ``b``: the number of pairs
    ``(a[i], b[j])`` with ``b[j] > a[i]``, ties counting one half; it ranges
    from 0 to ``len(a) * len(b)``, with ``len(a) * len(b) / 2`` expected when
    both samples come from the same distribution.

    ``alternative``: ``"greater"`` tests whether ``b`` tends to be larger than
    ``a`` (for timings: the current code is slower), ``"less"`` whether it
    tends to be smaller, ``"two-sided"`` either. The p-values equal scipy's
    ``mannwhitneyu(b, a, alternative=...)`` with ``use_continuity=True``.

    ``method``: ``"exact"`` counts, among all ways to split the pooled values
    into samples of these sizes, those at least as extreme as the observed
    one; it is exact at small sizes where the normal approximation is off,
    and is used by ``"auto"`` when there are no ties and the smaller sample
    has at most :data:`EXACT_MAX_SMALLER` values or there are at most
    :data:`EXACT_MAX_PAIRS` pairs. The exact distribution assumes no ties;
    with ties ``"auto"`` always uses ``"asymptotic"``: the normal
    approximation with the variance corrected for ties and a continuity
    correction of one half.

    Raises :class:`ValueError` for an empty sample or a NaN.
    """
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(
            f"alternative must be 'greater', 'less' or 'two-sided', not {alternative!r}"
        )
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"method must be 'auto', 'exact' or 'asymptotic', not {method!r}")
    n_a, n_b = len(a), len(b)
    if n_a == 0 or n_b == 0:
        raise ValueError("mann_whitney_u needs at least one value in each sample")
    rank_sum_b, tie_term = _rank_sum(a, b)
    u = rank_sum_b - n_b * (n_b + 1) / 2
    pairs = n_a * n_b
    if method == "auto":
        small = pairs <= EXACT_MAX_PAIRS or (min(n_a, n_b) <= EXACT_MAX_SMALLER and pairs <= 10_000)
        method = "exact" if small and tie_term == 0 else "asymptotic"
    # The statistic whose upper tail is the p-value.
    if alternative == "greater":
        tail_u, factor = u, 1.0
    elif alternative == "less":
        tail_u, factor = pairs - u, 1.0
    else:
        tail_u, factor = max(u, pairs - u), 2.0
    if method == "exact":
        p = factor * _exact_upper_tail(n_a, n_b, tail_u)
    else:
        p = factor * _normal_upper_tail(n_a, n_b, tail_u, tie_term)
    return u, min(max(p, 0.0), 1.0)


def _rank_sum(a: Sequence[float], b: Sequence[float]) -> tuple[float, int]:
    """Sum of the (mid)ranks of ``b`` in the pooled sample, and the tie term.

    The tie term is the sum of ``t**3 - t`` over groups of ``t`` equal values;
    it is 0 exactly when there are no ties.
    """
    values = [float(x) for x in a]
    n_a = len(values)
    values.extend(float(x) for x in b)
    if any(x != x for x in values):
        raise ValueError("mann_whitney_u cannot rank NaN")
    order = sorted(range(len(values)), key=values.__getitem__)
    rank_sum_b = 0.0
    tie_term = 0
    start = 0
    total = len(order)
    while start < total:
        value = values[order[start]]
        end = start + 1
        while end < total and values[order[end]] == value:
            end += 1
        size = end - start
        if size > 1:
            tie_term += size**3 - size
        midrank = (start + 1 + end) / 2  # ranks start..end-1 shifted to 1-based
        in_b = sum(1 for k in range(start, end) if order[k] >= n_a)
        rank_sum_b += midrank * in_b
        start = end
    return rank_sum_b, tie_term


def _normal_upper_tail(n_a: int, n_b: int, u: float, tie_term: int) -> float:
    """P(U >= u) under the normal approximation with tie and continuity correction."""
    total = n_a + n_b
    mean = n_a * n_b / 2
    tie_correction = tie_term / (total * (total - 1)) if total > 1 else 0.0
    variance = n_a * n_b / 12 * ((total + 1) - tie_correction)
    if variance <= 0:  # every value equal: no evidence of any shift
        return 1.0
    z = (u - mean - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def _exact_upper_tail(n_a: int, n_b: int, u: float) -> float:
    """P(U >= u) under the exact null distribution (no ties)."""
    cumulative = _u_cumulative_counts(min(n_a, n_b), max(n_a, n_b))
    total = cumulative[-1]
    k = math.ceil(u - 1e-9)  # U is an integer without ties; P(U >= u) = P(U >= ceil(u))
    if k <= 0:
        return 1.0
    if k >= len(cumulative):
        return 0.0
    return (total - cumulative[k - 1]) / total


@functools.lru_cache(maxsize=64)
def _u_cumulative_counts(m: int, n: int) -> tuple[int, ...]:
    """``counts[k]``: how many of the C(m+n, m) splits have ``U <= k``.

    The number of splits with ``U == k`` is the coefficient of ``q**k`` in the
    Gaussian binomial coefficient ``prod((1 - q**(n+i)) / (1 - q**i), i=1..m)``.
    Power series multiply by ``1 - q**s`` and divide by ``1 - q**i`` in one
    pass each, so this takes ``O(m * m * n)`` integer additions (``m`` the
    smaller size); the distribution is the same for ``(m, n)`` and ``(n, m)``
    and a check compares many metrics of the same sizes, hence the cache.
    """
    size = m * n + 1
    poly = [0] * size
    poly[0] = 1
    for i in range(1, m + 1):
        step = n + i
        for k in range(size - 1, step - 1, -1):
            poly[k] -= poly[k - step]
        for k in range(i, size):
            poly[k] += poly[k - i]
    cumulative = []
    running = 0
    for count in poly:
        running += count
        cumulative.append(running)
    return tuple(cumulative)


# --------------------------------------------------------------------------
# Bootstrap confidence interval of the ratio of medians


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; 1 for 0/0 and infinity for x/0 (x > 0)."""
    if denominator == 0:
        return 1.0 if numerator == 0 else math.copysign(math.inf, numerator)
    return numerator / denominator


def ratio_of_medians_ci(
    a: Sequence[float],
    b: Sequence[float],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(ratio, low, high)``: ``median(b) / median(a)`` and its confidence interval.

    A percentile bootstrap: ``resamples`` times, both samples are resampled
    with replacement (independently: baseline and current runs are separate
    measurements) and the ratio of the resamples' medians is taken; ``low``
    and ``high`` are the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
    quantiles of those ratios (linear interpolation between order
    statistics, numpy's default). Medians rather than means because timings
    have long right tails; a ratio because "12% slower" means the same for a
    2 ms and a 2 s workload. The p-value says whether there is a shift, this
    interval says how big it plausibly is.

    Deterministic: the resampling draws from ``random.Random(seed)``. Fast:
    the median of each resample is drawn from its exact distribution (see
    :func:`_bootstrap_median_sampler`) instead of resampling and sorting, so
    2,000 resamples take a few milliseconds whatever the sample sizes.

    A zero median baseline gives an infinite ratio (or 1 when the other median
    is zero too). Raises :class:`ValueError` for an empty sample, a NaN, a
    ``confidence`` outside (0, 1) or fewer than one resample.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples!r}")
    if not a or not b:
        raise ValueError("ratio_of_medians_ci needs at least one value in each sample")
    xs = sorted(float(x) for x in a)
    ys = sorted(float(y) for y in b)
    if any(x != x for x in xs) or any(y != y for y in ys):
        raise ValueError("ratio_of_medians_ci cannot use NaN")
    ratio = _ratio(statistics.median(ys), statistics.median(xs))
    rng = random.Random(seed)  # noqa: S311 - reproducible resampling, not secrets
    median_a = _bootstrap_median_sampler(xs, rng)
    median_b = _bootstrap_median_sampler(ys, rng)
    ratios = []
    for _ in range(resamples):
        med_a = median_a()
        med_b = median_b()
        ratios.append(med_b / med_a if med_a else _ratio(med_b, med_a))
    ratios.sort()
    tail = (1 - confidence) / 2
    return ratio, percentile(ratios, tail * 100), percentile(ratios, (1 - tail) * 100)


def _bootstrap_median_sampler(values: list[float], rng: random.Random) -> Callable[[], float]:
    """A function returning the median of a fresh bootstrap resample of sorted ``values``.

    Resampling ``n`` values with replacement means drawing ``n`` indices
    ``floor(n * U)`` from uniform ``U``; as that map is monotone, the ``k``-th
    smallest drawn index is ``floor(n * U_(k))`` with ``U_(k)`` the ``k``-th
    smallest of ``n`` uniforms, which is Beta(k, n + 1 - k) distributed. And
    given ``U_(k) = x``, ``U_(k+1)`` is the smallest of the other ``n - k``
    uniforms, which are uniform on ``(x, 1)``: ``x + (1 - x) * (1 - R**(1/(n-k)))``
    for uniform ``R``. So the median of a resample takes one or two draws
    instead of ``n`` draws and a sort (the same distribution, several times
    faster, and independent of ``n``).
    """
    n = len(values)
    k = (n + 1) // 2  # the (lower) middle order statistic, 1-based
    last = n - 1
    beta = rng.betavariate
    if n % 2:

        def odd() -> float:
            return values[min(int(beta(k, n + 1 - k) * n), last)]

        return odd

    draw = rng.random
    exponent = 1 / (n - k)

    def even() -> float:
        low = beta(k, n + 1 - k)
        high = low + (1 - low) * (1 - draw() ** exponent)
        return (values[min(int(low * n), last)] + values[min(int(high * n), last)]) / 2

    return even


# --------------------------------------------------------------------------
# Comparisons


@dataclass(frozen=True, slots=True)
class TimingComparison:
    """A timing metric (``wall_s``, ``cpu_s``: seconds per call) of one target, compared.

    ``ratio`` is ``current_median / baseline_median`` (1.10 = 10% slower);
    ``ci_low``/``ci_high`` its bootstrap confidence interval at
    ``confidence``. ``p_value`` is the one-sided Mann-Whitney p-value in the
    direction of the change: "current is slower" when ``ratio >= 1``,
    "current is faster" otherwise. ``ci_low``, ``ci_high`` and ``p_value`` are
    None when there were too few samples to test (``note`` says so).
    ``threshold`` and ``alpha`` are the settings the verdict used.
    ``gating`` False: shown but never fails a check (``regressed`` and
    ``improved`` are then False; ``note`` says what the test found).
    """

    metric: str
    baseline_median: float
    current_median: float
    ratio: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    regressed: bool
    improved: bool
    n_baseline: int
    n_current: int
    threshold: float
    alpha: float
    confidence: float
    note: str | None = None
    gating: bool = True

    @property
    def verdict(self) -> Verdict:
        if not self.gating:
            return "advisory"
        if self.regressed:
            return "regressed"
        if self.improved:
            return "improved"
        if self.p_value is None:
            return "too few samples"
        return "unchanged"


@dataclass(frozen=True, slots=True)
class CountComparison:
    """A count metric (``calls``, ``allocations``, ``peak_bytes``, ...) of one target, compared.

    ``ratio`` is ``current / baseline`` (infinite when only the baseline is
    zero, 1 when both are).
    """

    metric: str
    baseline: int
    current: int
    ratio: float
    tolerance: float
    regressed: bool
    improved: bool
    note: str | None = None

    @property
    def verdict(self) -> Verdict:
        if self.regressed:
            return "regressed"
        if self.improved:
            return "improved"
        return "unchanged"


def compare_timings(
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    threshold: float,
    alpha: float,
    metric: str = "wall_s",
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> TimingComparison:
    """Compare the timing samples of one metric: regressed, improved or neither.

    Regressed only when the current sample is significantly slower (one-sided
    Mann-Whitney ``p < alpha``) *and* the median got slower by more than the
    threshold (``ratio > 1 + threshold``): significance without size flags
    harmless 0.3% shifts once there are many samples; size without
    significance flags the chance differences of noisy metrics. Improved is
    the mirror: significantly faster and ``ratio < 1 / (1 + threshold)``, so
    that swapping baseline and current swaps the two verdicts exactly.

    With fewer than :data:`MIN_SAMPLES` samples on either side nothing is
    tested: neither regressed nor improved, ``p_value`` and the interval are
    None and ``note`` explains. Few samples cannot be significant at all:
    the smallest possible p-value is ``1 / comb(n_baseline + n_current,
    n_current)`` (0.05 at 3 + 3, 0.014 at 4 + 4, 0.004 at 5 + 5), so when
    that is not below ``alpha`` the comparison says so in ``note`` (more runs are
    needed). Raises :class:`ValueError` for an empty
    sample, a NaN, a negative ``threshold`` or an ``alpha`` outside (0, 1).
    """
    if not threshold >= 0:
        raise ValueError(f"threshold must be 0 or more, not {threshold!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    if not baseline or not current:
        side = "baseline" if not baseline else "current"
        raise ValueError(f"{metric}: the {side} has no samples")
    base_median = float(statistics.median(baseline))
    curr_median = float(statistics.median(current))
    if base_median != base_median or curr_median != curr_median:
        raise ValueError(f"{metric}: samples contain NaN")
    ratio = _ratio(curr_median, base_median)
    n_baseline, n_current = len(baseline), len(current)
    if n_baseline < MIN_SAMPLES or n_current < MIN_SAMPLES:
        return TimingComparison(
            metric=metric,
            baseline_median=base_median,
            current_median=curr_median,
            ratio=ratio,
            ci_low=None,
            ci_high=None,
            p_value=None,
            regressed=False,
            improved=False,
            n_baseline=n_baseline,
            n_current=n_current,
            threshold=threshold,
            alpha=alpha,
            confidence=confidence,
            note=(
                f"too few samples to test ({n_baseline} baseline, {n_current} current;"
                f" at least {MIN_SAMPLES} each are needed)"
            ),
        )
    direction: Alternative = "greater" if ratio >= 1 else "less"
    _, p_value = mann_whitney_u(baseline, current, direction)
    _, ci_low, ci_high = ratio_of_medians_ci(
        baseline, current, confidence=confidence, resamples=resamples, seed=seed
    )
    significant = p_value < alpha
    note = None
    smallest_p = 1 / math.comb(n_baseline + n_current, n_current)
    if smallest_p >= alpha:
        note = (
            f"{n_baseline} baseline and {n_current} current samples cannot be significant"
            f" at alpha {alpha:g} (the smallest possible p-value is {smallest_p:.2g})"
        )
    return TimingComparison(
        metric=metric,
        baseline_median=base_median,
        current_median=curr_median,
        ratio=ratio,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        regressed=significant and ratio > 1 + threshold,
        improved=significant and ratio < 1 / (1 + threshold),
        n_baseline=n_baseline,
        n_current=n_current,
        threshold=threshold,
        alpha=alpha,
        confidence=confidence,
        note=note,
    )


def compare_count(metric: str, baseline: int, current: int, *, tolerance: float) -> CountComparison:
    """Compare one count: regressed when it grew by more than ``tolerance``.

    Regressed when ``current > baseline * (1 + tolerance)`` and it grew by at
    least one (so a tolerance of 0 flags any increase, and a count of 0 that
    stays 0 never does). Improved is the mirror (``baseline > current * (1 +
    tolerance)``, shrunk by at least one). Counts need no statistics: the same
    code makes the same function calls and queries every run; a tolerance
    absorbs the little that does vary (allocations, GC collections).
    Raises :class:`ValueError` for a negative ``tolerance``.
    """
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be 0 or more, not {tolerance!r}")
    return CountComparison(
        metric=metric,
        baseline=baseline,
        current=current,
        ratio=_ratio(current, baseline),
        tolerance=tolerance,
        regressed=current > baseline * (1 + tolerance) and current - baseline >= 1,
        improved=baseline > current * (1 + tolerance) and baseline - current >= 1,
    )
