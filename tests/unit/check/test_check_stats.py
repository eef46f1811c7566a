"""profiler_kit.check.stats against scipy, textbook tables and synthetic data."""

from __future__ import annotations

import itertools
import math
import random
import statistics
import time
from collections import Counter

import pytest

from profiler_kit.check import stats
from profiler_kit.check.stats import (
    Alternative,
    CountComparison,
    TimingComparison,
    compare_count,
    compare_timings,
    mann_whitney_u,
    ratio_of_medians_ci,
)

scipy_stats = pytest.importorskip("scipy.stats")

ALTERNATIVES: tuple[Alternative, ...] = ("greater", "less", "two-sided")


def scipy_mwu(a: list[float], b: list[float], alternative: str, method: str) -> tuple[float, float]:
    """scipy's test of ``b`` against ``a`` (scipy's first sample is the one tested as greater)."""
    result = scipy_stats.mannwhitneyu(
        b, a, alternative=alternative, method=method, use_continuity=True
    )
    return float(result.statistic), float(result.pvalue)


def assert_p_close(ours: float, theirs: float) -> None:
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-14)


# --------------------------------------------------------------------------
# Mann-Whitney U: textbook values


@pytest.mark.parametrize(
    ("m", "n", "coefficients"),
    [
        # Gaussian binomial coefficients [m+n choose m]_q: counts of each U value.
        (1, 1, [1, 1]),
        (2, 2, [1, 1, 2, 1, 1]),
        (2, 3, [1, 1, 2, 2, 2, 1, 1]),
        (3, 3, [1, 1, 2, 3, 3, 3, 3, 2, 1, 1]),
    ],
)
def test_exact_distribution_counts(m: int, n: int, coefficients: list[int]) -> None:
    cumulative = stats._u_cumulative_counts(m, n)
    assert list(cumulative) == list(itertools.accumulate(coefficients))
    assert cumulative[-1] == math.comb(m + n, m)


def test_exact_distribution_matches_enumeration() -> None:
    for m, n in [(3, 4), (4, 4), (2, 7), (5, 3)]:
        counts: Counter[int] = Counter()
        for chosen in itertools.combinations(range(m + n), n):
            ranks = [rank + 1 for rank in chosen]
            counts[sum(ranks) - n * (n + 1) // 2] += 1
        expected = list(itertools.accumulate(counts[k] for k in range(m * n + 1)))
        assert list(stats._u_cumulative_counts(min(m, n), max(m, n))) == expected


@pytest.mark.parametrize(
    ("size", "one_tailed", "two_tailed"),
    # Critical values of U at alpha = 0.05 from the standard tables (e.g. Siegel,
    # Nonparametric Statistics, table K): reject when U <= critical value.
    [(5, 4, 2), (8, 15, 13), (10, 27, 23)],
)
def test_critical_values_from_tables(size: int, one_tailed: int, two_tailed: int) -> None:
    baseline = [float(i) for i in range(size)]

    def current_with_u(u: int) -> list[float]:
        # A value of c - 0.5 is above exactly c baseline values; spread u over size values.
        above = [min(size, max(0, u - size * j)) for j in range(size)]
        assert sum(above) == u
        return [c - 0.5 + j * 1e-6 for j, c in enumerate(above)]

    def p_value(u: int, alternative: Alternative) -> float:
        found_u, p = mann_whitney_u(baseline, current_with_u(u), alternative)
        assert found_u == u
        return p

    assert p_value(one_tailed, "less") <= 0.05 < p_value(one_tailed + 1, "less")
    assert p_value(two_tailed, "two-sided") <= 0.05 < p_value(two_tailed + 1, "two-sided")


def test_complete_separation_five_by_five() -> None:
    baseline = [1.0, 2.0, 3.0, 4.0, 5.0]
    current = [6.0, 7.0, 8.0, 9.0, 10.0]
    assert mann_whitney_u(baseline, current, "greater") == pytest.approx((25.0, 1 / 252))
    assert mann_whitney_u(baseline, current, "two-sided") == pytest.approx((25.0, 2 / 252))
    assert mann_whitney_u(baseline, current, "less") == (25.0, 1.0)


def test_u_counts_pairs_with_half_ties() -> None:
    # Pairs with b > a: (1,2), (1,3), (2,3); ties: (2,2) counts one half.
    u, _ = mann_whitney_u([1.0, 2.0], [2.0, 3.0], method="asymptotic")
    assert u == 3.5


def test_all_values_equal_is_no_evidence() -> None:
    for alternative in ALTERNATIVES:
        assert mann_whitney_u([1.0] * 5, [1.0] * 7, alternative)[1] == 1.0


# --------------------------------------------------------------------------
# Mann-Whitney U: against scipy


def test_exact_p_values_match_scipy_small_samples() -> None:
    rng = random.Random(1)
    checked = 0
    for _ in range(400):
        n_a, n_b = rng.randint(1, 12), rng.randint(1, 12)
        shift = rng.choice([0.0, 0.3, -0.3, 1.0])
        a = [rng.random() for _ in range(n_a)]
        b = [rng.random() + shift for _ in range(n_b)]
        for alternative in ALTERNATIVES:
            u, p = mann_whitney_u(a, b, alternative, method="exact")
            scipy_u, scipy_p = scipy_mwu(a, b, alternative, "exact")
            assert u == scipy_u
            assert_p_close(p, scipy_p)
            checked += 1
    assert checked == 1200


def test_asymptotic_p_values_match_scipy_with_and_without_ties() -> None:
    rng = random.Random(2)
    for case in range(400):
        n_a, n_b = rng.randint(2, 80), rng.randint(2, 80)
        shift = rng.choice([0.0, 0.1, -0.1, 0.5])
        a = [rng.gauss(1, 0.3) for _ in range(n_a)]
        b = [rng.gauss(1 + shift, 0.3) for _ in range(n_b)]
        if case % 2:  # coarse clock: many ties
            a = [round(x, 1) for x in a]
            b = [round(x, 1) for x in b]
        if len(set(a + b)) == 1:
            continue
        for alternative in ALTERNATIVES:
            u, p = mann_whitney_u(a, b, alternative, method="asymptotic")
            scipy_u, scipy_p = scipy_mwu(a, b, alternative, "asymptotic")
            assert u == pytest.approx(scipy_u, abs=1e-9)
            assert_p_close(p, scipy_p)


def test_large_samples_match_scipy() -> None:
    rng = random.Random(3)
    a = [rng.lognormvariate(0, 0.2) for _ in range(500)]
    b = [rng.lognormvariate(0.02, 0.2) for _ in range(700)]
    for alternative in ALTERNATIVES:
        assert_p_close(
            mann_whitney_u(a, b, alternative)[1], scipy_mwu(a, b, alternative, "asymptotic")[1]
        )


def test_auto_is_exact_without_ties_at_small_sizes_and_asymptotic_otherwise() -> None:
    rng = random.Random(4)
    for n_a, n_b, ties, expected in [
        (5, 40, False, "exact"),  # smaller sample within EXACT_MAX_SMALLER
        (50, 50, False, "exact"),  # within EXACT_MAX_PAIRS
        (51, 50, False, "asymptotic"),
        (5, 2001, False, "asymptotic"),
        (6, 6, True, "asymptotic"),
    ]:
        a = [rng.random() for _ in range(n_a)]
        b = [rng.random() + 0.2 for _ in range(n_b)]
        if ties:
            a = [round(x, 1) for x in a]
            b = [round(x, 1) for x in b]
            assert len(set(a + b)) < n_a + n_b
        for alternative in ALTERNATIVES:
            assert_p_close(
                mann_whitney_u(a, b, alternative)[1], scipy_mwu(a, b, alternative, expected)[1]
            )


def test_normal_approximation_is_close_and_conservative_at_the_switch() -> None:
    # Beyond 50 x 50 the normal approximation takes over: it must not jump.
    rng = random.Random(5)
    a = [rng.gauss(1, 0.1) for _ in range(50)]
    b = [rng.gauss(1.05, 0.1) for _ in range(50)]
    exact = mann_whitney_u(a, b, method="exact")[1]
    normal = mann_whitney_u(a, b, method="asymptotic")[1]
    assert 0.001 < exact < 0.05
    assert exact <= normal <= exact * 1.05


@pytest.mark.parametrize(
    ("a", "b", "alternative", "method", "message"),
    [
        ([], [1.0], "greater", "auto", "at least one value"),
        ([1.0], [], "greater", "auto", "at least one value"),
        ([1.0, math.nan], [1.0], "greater", "auto", "NaN"),
        ([1.0], [2.0], "bigger", "auto", "alternative"),
        ([1.0], [2.0], "greater", "bootstrap", "method"),
    ],
)
def test_mann_whitney_rejects_bad_input(
    a: list[float], b: list[float], alternative: str, method: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        mann_whitney_u(a, b, alternative, method=method)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Bootstrap CI of the ratio of medians


def test_bootstrap_ratio_is_the_ratio_of_medians() -> None:
    a = [3.0, 1.0, 2.0, 10.0]
    b = [4.0, 5.0, 6.0]
    ratio, low, high = ratio_of_medians_ci(a, b)
    assert ratio == 5.0 / 2.5
    assert low <= ratio <= high


def test_bootstrap_is_deterministic_with_the_seed() -> None:
    rng = random.Random(6)
    a = [rng.gauss(1, 0.1) for _ in range(25)]
    b = [rng.gauss(1.1, 0.1) for _ in range(30)]
    assert ratio_of_medians_ci(a, b, seed=3) == ratio_of_medians_ci(a, b, seed=3)
    assert ratio_of_medians_ci(a, b, seed=3) != ratio_of_medians_ci(a, b, seed=4)
    # The global random state plays no part.
    random.seed(99)
    first = ratio_of_medians_ci(a, b)
    random.seed(100)
    assert ratio_of_medians_ci(a, b) == first


def test_bootstrap_interval_covers_the_true_ratio_most_of_the_time() -> None:
    rng = random.Random(7)
    true_ratio = 1.2
    trials = 100
    covered = 0
    for trial in range(trials):
        a = [rng.lognormvariate(0, 0.3) for _ in range(20)]
        b = [true_ratio * rng.lognormvariate(0, 0.3) for _ in range(21)]
        _, low, high = ratio_of_medians_ci(a, b, seed=trial)
        covered += low <= true_ratio <= high
    # Nominal 95%; the percentile bootstrap of a median is close at these sizes.
    assert covered >= 88


def test_bootstrap_interval_narrows_with_confidence_and_samples() -> None:
    rng = random.Random(8)
    a = [rng.lognormvariate(0, 0.2) for _ in range(40)]
    b = [rng.lognormvariate(0.1, 0.2) for _ in range(40)]
    _, low95, high95 = ratio_of_medians_ci(a, b, confidence=0.95)
    _, low80, high80 = ratio_of_medians_ci(a, b, confidence=0.80)
    assert low95 <= low80 <= high80 <= high95
    _, low_small, high_small = ratio_of_medians_ci(a[:8], b[:8])
    assert high_small - low_small > high95 - low95


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
def test_resampled_median_has_the_bootstrap_distribution(size: int) -> None:
    """The shortcut draws the median of a resample with its exact distribution."""
    values = [float(2**i) for i in range(size)]  # every median of a resample is distinct
    expected: Counter[float] = Counter()
    for drawn in itertools.product(range(size), repeat=size):
        expected[statistics.median(values[i] for i in drawn)] += 1
    total = size**size
    draws = 40_000
    sample = stats._bootstrap_median_sampler(values, random.Random(size))
    seen = Counter(sample() for _ in range(draws))
    assert set(seen) <= set(expected)
    for value, count in expected.items():
        p = count / total
        sd = math.sqrt(p * (1 - p) / draws)
        assert abs(seen[value] / draws - p) <= 5 * sd + 1e-12


@pytest.mark.parametrize("size", [30, 31])
def test_resampled_median_matches_naive_resampling(size: int) -> None:
    rng = random.Random(size)
    values = sorted(rng.lognormvariate(0, 0.5) for _ in range(size))
    draws = 20_000
    shortcut = stats._bootstrap_median_sampler(values, random.Random(1))
    fast = sorted(shortcut() for _ in range(draws))
    naive_rng = random.Random(2)
    naive = sorted(statistics.median(naive_rng.choices(values, k=size)) for _ in range(draws))
    for q in (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975):
        index = int(q * (draws - 1))
        # Quantiles of the two Monte Carlo samples agree to within a few order statistics.
        neighbours = naive[max(0, index - 300) : index + 300]
        assert neighbours[0] <= fast[index] <= neighbours[-1]


def test_bootstrap_with_zero_medians() -> None:
    assert ratio_of_medians_ci([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]) == (1.0, 1.0, 1.0)
    ratio, low, high = ratio_of_medians_ci([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    assert ratio == low == high == math.inf


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"a": [], "b": [1.0]}, "at least one value"),
        ({"a": [1.0], "b": [math.nan]}, "NaN"),
        ({"a": [1.0], "b": [1.0], "confidence": 1.0}, "confidence"),
        ({"a": [1.0], "b": [1.0], "resamples": 0}, "resamples"),
    ],
)
def test_bootstrap_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ratio_of_medians_ci(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# compare_timings


def noisy(rng: random.Random, center: float, spread: float, count: int) -> list[float]:
    return [center * rng.lognormvariate(0, spread) for _ in range(count)]


def test_regressed_when_significant_and_above_threshold() -> None:
    rng = random.Random(10)
    result = compare_timings(
        noisy(rng, 0.010, 0.05, 30), noisy(rng, 0.012, 0.05, 30), threshold=0.05, alpha=0.01
    )
    assert result.p_value is not None and result.p_value < 0.01
    assert result.ratio > 1.05
    assert result.regressed and not result.improved
    assert result.verdict == "regressed"
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low <= result.ratio <= result.ci_high
    assert (result.n_baseline, result.n_current) == (30, 30)
    assert result.note is None


def test_significant_but_small_shift_is_not_a_regression() -> None:
    # Many quiet samples: a 0.3% slowdown is very significant, and irrelevant.
    rng = random.Random(11)
    baseline = noisy(rng, 0.010, 0.001, 60)
    current = noisy(rng, 0.01003, 0.001, 60)
    result = compare_timings(baseline, current, threshold=0.05, alpha=0.01)
    assert result.p_value is not None and result.p_value < 1e-6
    assert 1.0 < result.ratio < 1.05
    assert not result.regressed
    assert result.verdict == "unchanged"
    # The same shift with a threshold below it is a regression.
    assert compare_timings(baseline, current, threshold=0.001, alpha=0.01).regressed


def test_large_but_insignificant_shift_is_not_a_regression() -> None:
    # Few noisy samples: a median 17% higher is well within chance.
    baseline = [0.010, 0.020, 0.030, 0.040, 0.050]
    current = [0.012, 0.022, 0.035, 0.041, 0.053]
    result = compare_timings(baseline, current, threshold=0.05, alpha=0.05)
    assert result.ratio == pytest.approx(0.035 / 0.030)
    assert result.ratio > 1.05
    assert result.p_value is not None and result.p_value >= 0.05
    assert not result.regressed and not result.improved
    # The same data with the significance level opened all the way regresses.
    assert compare_timings(baseline, current, threshold=0.05, alpha=0.99).regressed


def test_improved_is_the_mirror_of_regressed() -> None:
    rng = random.Random(12)
    for case in range(60):
        baseline = noisy(rng, 0.010, 0.1, rng.randint(3, 40))
        current = noisy(
            rng, 0.010 * rng.choice([0.8, 0.95, 1.0, 1.05, 1.25]), 0.1, rng.randint(3, 40)
        )
        forward = compare_timings(baseline, current, threshold=0.05, alpha=0.05, seed=case)
        backward = compare_timings(current, baseline, threshold=0.05, alpha=0.05, seed=case)
        assert forward.regressed == backward.improved
        assert forward.improved == backward.regressed
        assert not (forward.regressed and forward.improved)


def test_p_value_is_one_sided_in_the_direction_of_the_change() -> None:
    rng = random.Random(13)
    baseline = noisy(rng, 0.010, 0.05, 20)
    faster = noisy(rng, 0.008, 0.05, 20)
    result = compare_timings(baseline, faster, threshold=0.05, alpha=0.01)
    assert result.ratio < 1
    assert result.p_value == mann_whitney_u(baseline, faster, "less")[1]
    assert result.improved and result.verdict == "improved"


def test_too_few_samples_are_not_tested() -> None:
    result = compare_timings([0.01, 0.011], [0.5, 0.6, 0.7], threshold=0.05, alpha=0.05)
    assert isinstance(result, TimingComparison)
    assert not result.regressed and not result.improved
    assert result.p_value is None and result.ci_low is None and result.ci_high is None
    assert result.verdict == "too few samples"
    assert result.note is not None and "too few samples" in result.note
    assert result.ratio == pytest.approx(0.6 / 0.0105)
    assert compare_timings([0.01] * 3, [0.5] * 3, threshold=0.05, alpha=0.1).p_value is not None


def test_samples_too_few_for_alpha_are_noted() -> None:
    # 4 + 4 samples: the smallest possible p-value is 1/70 = 0.014.
    baseline, current = [1.0, 1.1, 1.2, 1.3], [2.0, 2.1, 2.2, 2.3]
    strict = compare_timings(baseline, current, threshold=0.05, alpha=0.01)
    assert strict.p_value == pytest.approx(1 / 70)
    assert not strict.regressed
    assert strict.note is not None and "cannot be significant at alpha 0.01" in strict.note
    loose = compare_timings(baseline, current, threshold=0.05, alpha=0.05)
    assert loose.regressed and loose.note is None


def test_compare_timings_records_its_settings() -> None:
    result = compare_timings(
        [1.0, 1.1, 1.2], [1.0, 1.1, 1.2], threshold=0.1, alpha=0.02, metric="cpu_s", confidence=0.9
    )
    assert (result.metric, result.threshold, result.alpha, result.confidence) == (
        "cpu_s",
        0.1,
        0.02,
        0.9,
    )
    assert result.ratio == 1.0 and result.verdict == "unchanged"


@pytest.mark.parametrize(
    ("baseline", "current", "threshold", "alpha", "message"),
    [
        ([], [1.0, 2.0, 3.0], 0.05, 0.05, "baseline has no samples"),
        ([1.0, 2.0, 3.0], [], 0.05, 0.05, "current has no samples"),
        ([1.0], [1.0], -0.1, 0.05, "threshold"),
        ([1.0], [1.0], 0.05, 0.0, "alpha"),
        ([1.0], [1.0], math.nan, 0.05, "threshold"),
    ],
)
def test_compare_timings_rejects_bad_input(
    baseline: list[float], current: list[float], threshold: float, alpha: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compare_timings(baseline, current, threshold=threshold, alpha=alpha)


def test_compare_timings_is_fast() -> None:
    """A target's three metrics at 60 samples each, 2,000 resamples each."""
    rng = random.Random(14)
    pairs = [(noisy(rng, 0.01, 0.1, 60), noisy(rng, 0.0105, 0.1, 60)) for _ in range(3)]
    started = time.perf_counter()
    for baseline, current in pairs:
        compare_timings(baseline, current, threshold=0.05, alpha=0.01)
    # About 30 ms on a laptop; the budget is "well under a second".
    assert time.perf_counter() - started < 0.5


# --------------------------------------------------------------------------
# compare_count


def test_count_regressed_beyond_tolerance_only() -> None:
    assert compare_count("calls", 1000, 1100, tolerance=0.05).regressed
    at_limit = compare_count("calls", 1000, 1050, tolerance=0.05)
    assert not at_limit.regressed and at_limit.verdict == "unchanged"
    assert at_limit.ratio == 1.05
    assert not compare_count("calls", 1000, 1049, tolerance=0.05).regressed
    assert compare_count("calls", 1000, 1051, tolerance=0.05).regressed


def test_count_zero_tolerance_flags_any_increase() -> None:
    assert compare_count("queries", 3, 4, tolerance=0).regressed
    assert not compare_count("queries", 3, 3, tolerance=0).regressed
    assert compare_count("queries", 4, 3, tolerance=0).improved


def test_count_from_zero() -> None:
    grown = compare_count("queries", 0, 1, tolerance=0.5)
    assert grown.regressed and grown.ratio == math.inf
    still_zero = compare_count("queries", 0, 0, tolerance=0)
    assert not still_zero.regressed and not still_zero.improved and still_zero.ratio == 1.0


def test_count_improved_is_the_mirror() -> None:
    for baseline, current in [(100, 80), (100, 96), (100, 104), (7, 9), (0, 2), (5, 5)]:
        forward = compare_count("allocations", baseline, current, tolerance=0.1)
        backward = compare_count("allocations", current, baseline, tolerance=0.1)
        assert isinstance(forward, CountComparison)
        assert forward.regressed == backward.improved
        assert forward.improved == backward.regressed
    shrunk = compare_count("allocations", 100, 80, tolerance=0.1)
    assert shrunk.improved and shrunk.verdict == "improved"


def test_count_rejects_negative_tolerance() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        compare_count("calls", 1, 2, tolerance=-0.01)
