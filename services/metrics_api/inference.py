"""The statistical inference behind the metrics, pure functions: NPS and its adjusted-Wald interval, Wilson, t.

Percent-valued results (NPS, intervals of percentages) are in percent; proportions are 0..1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.stats import norm
from scipy.stats import t as student_t

Z95 = 1.96  # the 95 % normal quantile, rounded as every published NPS and Wilson formula rounds it
LEVEL = 0.95


def nps(promoters: int, detractors: int, n: int) -> float:
    """NPS in -100..100: the share of promoters minus the share of detractors, in percent."""
    return 100.0 * (promoters - detractors) / n


def nps_se(promoters: int, detractors: int, n: int) -> float:
    """The standard error of NPS in points: 100·sqrt((p + d - (p - d)²)/n)."""
    p, d = promoters / n, detractors / n
    return 100.0 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)


def adjusted_nps(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """The adjusted-Wald NPS and its standard error (Rocks 2016): n + 3, promoters + ¾, detractors + ¾."""
    n_adj = n + 3
    p, d = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    return 100.0 * (p - d), 100.0 * math.sqrt((p + d - (p - d) ** 2) / n_adj)


def nps_interval(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """The 95 % adjusted-Wald interval of NPS, clipped to -100..100."""
    center, se = adjusted_nps(promoters, detractors, n)
    return max(-100.0, center - Z95 * se), min(100.0, center + Z95 * se)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (0..1)."""
    p, z2 = successes / n, z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def mean_and_variance(histogram: Sequence[int]) -> tuple[float, float | None]:
    """Mean and sample variance (n - 1) of the scores a histogram counts (index = score); variance None for n < 2."""
    n = sum(histogram)
    mean = sum(score * count for score, count in enumerate(histogram)) / n
    if n < 2:
        return mean, None
    return mean, sum(count * (score - mean) ** 2 for score, count in enumerate(histogram)) / (n - 1)


def weighted_mean_and_variance(scores: Sequence[tuple[float, int]]) -> tuple[float, float | None]:
    """Mean and sample variance (n - 1) of scores given as (score, count) pairs; variance None for n < 2."""
    n = sum(count for _, count in scores)
    mean = sum(score * count for score, count in scores) / n
    if n < 2:
        return mean, None
    return mean, sum(count * (score - mean) ** 2 for score, count in scores) / (n - 1)


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with `df` degrees of freedom (df may be fractional, as Welch's is)."""
    return float(2.0 * student_t.sf(abs(t), df))


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with `df` degrees of freedom."""
    return float(student_t.cdf(t, df))


def t_quantile(p: float, df: float) -> float:
    """The `p` quantile of Student's t."""
    return float(student_t.ppf(p, df))


def t_interval(mean: float, variance: float, n: int) -> tuple[float, float]:
    """The 95 % t interval of a mean (df = n - 1)."""
    half = t_quantile(0.5 + LEVEL / 2, n - 1) * math.sqrt(variance / n)
    return mean - half, mean + half


def normal_two_sided_p(z: float) -> float:
    """P(|Z| ≥ |z|) for the standard normal."""
    return float(2.0 * norm.sf(abs(z)))


def nps_test(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """Two-sided p of NPS₁ - NPS₂ over the adjusted-Wald SEs; each argument is (promoters, detractors, n)."""
    _, se_1 = adjusted_nps(*first)
    _, se_2 = adjusted_nps(*second)
    difference = nps(*first) - nps(*second)
    return normal_two_sided_p(difference / math.sqrt(se_1**2 + se_2**2))


def proportion_test(x_1: int, n_1: int, x_2: int, n_2: int) -> float:
    """Two-sided p of the pooled two-proportion z test."""
    pooled = (x_1 + x_2) / (n_1 + n_2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_1 + 1 / n_2))
    if se == 0:  # both samples all-or-nothing alike: the proportions are equal
        return 1.0
    return normal_two_sided_p((x_1 / n_1 - x_2 / n_2) / se)


def welch_test(first: tuple[float, float, int], second: tuple[float, float, int]) -> float | None:
    """Two-sided p of Welch's t test; each argument is (mean, sample variance, n). None when undefined."""
    (m_1, v_1, n_1), (m_2, v_2, n_2) = first, second
    a, b = v_1 / n_1, v_2 / n_2
    if a + b == 0:  # no spread in either sample: the test is undefined
        return None
    df = (a + b) ** 2 / (a**2 / (n_1 - 1) + b**2 / (n_2 - 1))
    return t_two_sided_p((m_1 - m_2) / math.sqrt(a + b), df)
