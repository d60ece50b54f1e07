"""A metric and its standard error from histograms (DESIGN §4), and the difference-in-differences of four.

Histograms are counts per score 0..10 on a scale (`scale_min`, `scale_max`, `counts`); several scales add
(CSAT counts the two highest points of each). NPS uses the adjusted-Wald standard error (n + 3, P + ¾,
D + ¾), CSAT the binomial one of its top-2-box share, CES the standard error of the mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy.stats import norm

Z95 = 1.96
SIGNIFICANCE = 0.05
Histogram = dict[str, Any]  # {"scale_min", "scale_max", "counts": [h0..h10]}


@dataclass(frozen=True)
class Estimate:
    """A metric over one window: its value and standard error (None without answers), and n."""

    value: float | None
    se: float | None
    n: int


def subtract(whole: Sequence[Histogram], part: Sequence[Histogram]) -> list[Histogram]:
    """`whole` minus `part`, scale by scale (never below zero: the two reads are not one snapshot)."""
    taken = {(h["scale_min"], h["scale_max"]): h["counts"] for h in part}
    result = []
    for h in whole:
        minus = taken.get((h["scale_min"], h["scale_max"]), [0] * 11)
        result.append({**h, "counts": [max(0, a - b) for a, b in zip(h["counts"], minus, strict=True)]})
    return result


def _nps(counts: list[int], n: int) -> Estimate:
    promoters, detractors = counts[9] + counts[10], sum(counts[:7])
    p, d = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
    se = 100.0 * math.sqrt((p + d - (p - d) ** 2) / (n + 3))
    return Estimate(100.0 * (promoters - detractors) / n, se, n)


def _csat(histograms: Sequence[Histogram], n: int) -> Estimate:
    satisfied = 0
    for h in histograms:
        top = h["scale_max"] if h["scale_max"] is not None else 5
        satisfied += h["counts"][top] + h["counts"][top - 1]
    share = satisfied / n
    return Estimate(100.0 * share, 100.0 * math.sqrt(share * (1 - share) / n), n)


def _ces(counts: list[int], n: int) -> Estimate:
    mean = sum(score * count for score, count in enumerate(counts)) / n
    if n < 2:
        return Estimate(mean, None, n)
    variance = sum(count * (score - mean) ** 2 for score, count in enumerate(counts)) / (n - 1)
    return Estimate(mean, math.sqrt(variance / n), n)


def estimate(metric: str, histograms: Sequence[Histogram]) -> Estimate:
    """The metric (NPS, CSAT % satisfied, CES mean) of the histograms, with its standard error."""
    counts = [sum(h["counts"][s] for h in histograms) for s in range(11)]
    n = sum(counts)
    if n == 0:
        return Estimate(None, None, 0)
    if metric == "nps":
        return _nps(counts, n)
    if metric == "csat":
        return _csat(histograms, n)
    return _ces(counts, n)


@dataclass(frozen=True)
class DiD:
    """The difference-in-differences of four estimates, its 95 % interval and two-sided p-value."""

    effect: float | None
    low: float | None
    high: float | None
    p_value: float | None


def difference_in_differences(scope: tuple[Estimate, Estimate], control: tuple[Estimate, Estimate]) -> DiD:
    """(after - before) on the scope minus the same on the control; SE = sqrt of the four squared SEs."""
    values = [e.value for e in (*scope, *control)]
    errors = [e.se for e in (*scope, *control)]
    if any(v is None for v in values) or any(e is None for e in errors):
        return DiD(None, None, None, None)
    s_before, s_after, c_before, c_after = (float(v or 0.0) for v in values)
    effect = (s_after - s_before) - (c_after - c_before)
    se = math.sqrt(sum(float(e or 0.0) ** 2 for e in errors))
    p_value = float(2 * norm.sf(abs(effect) / se)) if se > 0 else (1.0 if effect == 0 else 0.0)
    return DiD(effect, effect - Z95 * se, effect + Z95 * se, p_value)
