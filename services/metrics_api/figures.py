"""From counts to the figures of an answer: value, raw counts, percentages, uncertainty, and comparisons.

A `Sample` is what one group of one period adds up to: answers per score 0..10 and the scale they were
given on (or, for the response rate, completed and delivered invitations). Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.metrics_api import inference

BELOW_MIN_SAMPLE = "below_min_sample"
SIGNIFICANCE = 0.05
DEFAULT_SCALES: dict[str, tuple[int, int]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
    "rating": (1, 5),
    "emotion": (1, 5),
    "emotion_positive": (1, 5),
    "success": (0, 2),
}
DEFAULT_PARTLY_WEIGHT = 0.5
# What an anonymous (employee) answer below the minimum sample hides besides its value: every count.
COUNTS = (
    *("n", "promoters", "passives", "detractors", "satisfied", "top_box", "top2_box", "easy"),
    *("completed", "delivered", "histogram", "yes", "partly", "no", "positive", "negative"),
)


@dataclass
class Sample:
    """Counts per score 0..10 and their scale; for `response_rate`: `[completed, delivered]`."""

    counts: list[int] = field(default_factory=lambda: [0] * 11)
    scale: tuple[int, int] | None = None

    @classmethod
    def empty(cls, metric: str) -> Sample:
        """No answers yet, shaped for `metric`."""
        return cls(counts=[0, 0] if metric == "response_rate" else [0] * 11)

    def add(self, counts: list[int] | tuple[int, ...], scale: tuple[int, int] | None = None) -> None:
        """Add another sample's counts (of the same scale: callers refuse mixed scales first)."""
        self.counts = [a + b for a, b in zip(self.counts, counts, strict=True)]
        self.scale = self.scale or scale


def _interval(low: float, high: float) -> dict[str, float]:
    return {"low": low, "high": high, "level": inference.LEVEL}


def _below(figures: dict[str, Any], n: int, min_sample: int) -> bool:
    if n < min_sample or n == 0:
        figures["reason"] = BELOW_MIN_SAMPLE
        return True
    return False


def nps_figures(sample: Sample, min_sample: int) -> dict[str, Any]:
    """NPS: promoters 9-10, passives 7-8, detractors 0-6; MoE 1.96·SE; the adjusted-Wald 95 % interval."""
    h = sample.counts
    promoters, passives, detractors = h[9] + h[10], h[7] + h[8], sum(h[:7])
    n = promoters + passives + detractors
    figures: dict[str, Any] = {"value": None, "n": n, "ci": None, "moe": None}
    figures.update(promoters=promoters, passives=passives, detractors=detractors)
    figures.update(promoters_pct=None, passives_pct=None, detractors_pct=None)
    if _below(figures, n, min_sample):
        return figures
    figures.update(
        value=inference.nps(promoters, detractors, n),
        promoters_pct=100.0 * promoters / n,
        passives_pct=100.0 * passives / n,
        detractors_pct=100.0 * detractors / n,
        moe=inference.Z95 * inference.nps_se(promoters, detractors, n),
        ci=_interval(*inference.nps_interval(promoters, detractors, n)),
    )
    return figures


def _scale_figures(sample: Sample, metric: str) -> tuple[dict[str, Any], list[int], int]:
    low, high = sample.scale or DEFAULT_SCALES[metric]
    points = sample.counts[low : high + 1]
    histogram = {str(score): count for score, count in zip(range(low, high + 1), points, strict=True)}
    figures: dict[str, Any] = {"value": None, "n": sum(points), "ci": None, "scale_min": low, "scale_max": high}
    figures.update(histogram=histogram, mean=None)
    return figures, sample.counts, high


def csat_figures(sample: Sample, min_sample: int) -> dict[str, Any]:
    """CSAT: percent satisfied = the two highest points (top-2-box), with its Wilson interval; mean; top box."""
    figures, h, high = _scale_figures(sample, "csat")
    n, satisfied = figures["n"], h[high] + h[high - 1]
    figures.update(satisfied=satisfied, top_box=h[high], top_box_pct=None)
    if _below(figures, n, min_sample):
        return figures
    low_p, high_p = inference.wilson(satisfied, n)
    figures.update(
        value=100.0 * satisfied / n,
        mean=inference.mean_and_variance(h)[0],
        top_box_pct=100.0 * h[high] / n,
        ci=_interval(100.0 * low_p, 100.0 * high_p),
    )
    return figures


def _mean_figures(figures: dict[str, Any], h: list[int]) -> None:
    """The mean as the value, with its t interval (df = n - 1; none for a single answer)."""
    mean, variance = inference.mean_and_variance(h)
    ci = _interval(*inference.t_interval(mean, variance, figures["n"])) if variance is not None else None
    figures.update(value=mean, mean=mean, ci=ci)


def ces_figures(sample: Sample, min_sample: int) -> dict[str, Any]:
    """CES: the mean score with its t interval; `easy` = the points above the scale's midpoint (5-7 of 1-7)."""
    figures, h, high = _scale_figures(sample, "ces")
    middle = (figures["scale_min"] + high) / 2
    n, easy = figures["n"], sum(count for score, count in enumerate(h) if middle < score <= high)
    figures.update(easy=easy, easy_pct=None)
    if _below(figures, n, min_sample):
        return figures
    _mean_figures(figures, h)
    figures["easy_pct"] = 100.0 * easy / n
    return figures


def rating_figures(sample: Sample, min_sample: int) -> dict[str, Any]:
    """Rating: the mean score with its t interval; top box (highest point) and top-2-box (two highest) in %."""
    figures, h, high = _scale_figures(sample, "rating")
    n, top2 = figures["n"], h[high] + h[high - 1]
    figures.update(top_box=h[high], top_box_pct=None, top2_box=top2, top2_box_pct=None)
    if _below(figures, n, min_sample):
        return figures
    _mean_figures(figures, h)
    figures.update(top_box_pct=100.0 * h[high] / n, top2_box_pct=100.0 * top2 / n)
    return figures


def emotion_figures(sample: Sample, min_sample: int) -> dict[str, Any]:
    """Emotion (1-5): the mean with its t interval; % positive (4-5) and % negative (1-2); histogram."""
    figures, h, _ = _scale_figures(sample, "emotion")
    n, positive, negative = figures["n"], h[4] + h[5], h[1] + h[2]
    figures.update(positive=positive, negative=negative, positive_pct=None, negative_pct=None)
    if _below(figures, n, min_sample):
        return figures
    _mean_figures(figures, h)
    figures.update(positive_pct=100.0 * positive / n, negative_pct=100.0 * negative / n)
    return figures


def positive_figures(sample: Sample, min_sample: int) -> dict[str, Any]:
    """Emotion as a share: % positive (4-5 of 1-5) with its Wilson interval (the scorecard's headline)."""
    h = sample.counts
    n, positive = sum(h[1:6]), h[4] + h[5]
    figures: dict[str, Any] = {"value": None, "n": n, "ci": None, "positive": positive}
    if _below(figures, n, min_sample):
        return figures
    low_p, high_p = inference.wilson(positive, n)
    figures.update(value=100.0 * positive / n, ci=_interval(100.0 * low_p, 100.0 * high_p))
    return figures


def success_scores(sample: Sample, weight: float) -> list[tuple[float, int]]:
    """The per-response success scores and their counts: yes 1, partly `weight`, no 0 (facts store 2, 1, 0)."""
    h = sample.counts
    return [(1.0, h[2]), (weight, h[1]), (0.0, h[0])]


def success_figures(sample: Sample, min_sample: int, weight: float = DEFAULT_PARTLY_WEIGHT) -> dict[str, Any]:
    """Success rate = 100·(yes + w·partly)/n. Interval: Wilson when w is 0 or 1 (each answer is a success or
    not), else the t interval of the per-response scores 1 / w / 0, clipped to 0..100."""
    h = sample.counts
    no, partly, yes = h[0], h[1], h[2]
    n = yes + partly + no
    figures: dict[str, Any] = {"value": None, "n": n, "ci": None, "yes": yes, "partly": partly, "no": no}
    figures.update(yes_pct=None, partly_pct=None, no_pct=None, partly_weight=weight, interval_method=None)
    if _below(figures, n, min_sample):
        return figures
    figures.update(yes_pct=100.0 * yes / n, partly_pct=100.0 * partly / n, no_pct=100.0 * no / n)
    figures["value"] = 100.0 * (yes + weight * partly) / n
    if weight in (0.0, 1.0):
        low_p, high_p = inference.wilson(yes + int(weight) * partly, n)
        figures.update(ci=_interval(100.0 * low_p, 100.0 * high_p), interval_method="wilson")
        return figures
    mean, variance = inference.weighted_mean_and_variance(success_scores(sample, weight))
    if variance is not None:
        low, high = inference.t_interval(mean, variance, n)
        figures["ci"] = _interval(max(0.0, 100.0 * low), min(100.0, 100.0 * high))
    figures["interval_method"] = "t"
    return figures


def rate_figures(sample: Sample, min_sample: int) -> dict[str, Any]:
    """Response rate: completed over delivered invitations, in percent, with its Wilson interval."""
    completed, delivered = sample.counts[0], sample.counts[1]
    figures: dict[str, Any] = {"value": None, "n": delivered, "ci": None}
    figures.update(completed=completed, delivered=delivered)
    if _below(figures, delivered, min_sample):
        return figures
    low_p, high_p = inference.wilson(completed, delivered)
    figures.update(value=100.0 * completed / delivered, ci=_interval(100.0 * low_p, 100.0 * high_p))
    return figures


FIGURES = {
    "nps": nps_figures,
    "csat": csat_figures,
    "ces": ces_figures,
    "rating": rating_figures,
    "emotion": emotion_figures,
    "emotion_positive": positive_figures,
    "success": success_figures,
    "response_rate": rate_figures,
}


def sample_n(metric: str, sample: Sample) -> int:
    """The sample size of a sample: its answers (response rate: its delivered invitations)."""
    return sample.counts[1] if metric == "response_rate" else sum(sample.counts)


def figures_of(
    metric: str,
    sample: Sample,
    min_sample: int,
    *,
    anonymous: bool = False,
    partly_weight: float = DEFAULT_PARTLY_WEIGHT,
) -> dict[str, Any]:
    """The figures of `metric` for `sample`; `anonymous` (employees): below the minimum sample, no counts either.
    `partly_weight` is what a `partly` answer counts for in the success rate."""
    if metric == "success":
        figures = success_figures(sample, min_sample, partly_weight)
    else:
        figures = FIGURES[metric](sample, min_sample)
    if anonymous and figures.get("reason") == BELOW_MIN_SAMPLE:
        figures.update({name: None for name in COUNTS if name in figures})
    return figures


def _nps_triple(sample: Sample) -> tuple[int, int, int]:
    h = sample.counts
    return h[9] + h[10], sum(h[:7]), sum(h)


def _success_p_value(first: Sample, second: Sample, weight: float) -> float | None:
    """The proportion test when w is 0 or 1; else Welch's t test of the per-response scores 1 / w / 0."""
    if weight in (0.0, 1.0):
        hits = [(s.counts[2] + int(weight) * s.counts[1], sum(s.counts[:3])) for s in (first, second)]
        return inference.proportion_test(hits[0][0], hits[0][1], hits[1][0], hits[1][1])
    (m_1, v_1), (m_2, v_2) = (inference.weighted_mean_and_variance(success_scores(s, weight)) for s in (first, second))
    if v_1 is None or v_2 is None:
        return None
    return inference.welch_test((m_1, v_1, sum(first.counts)), (m_2, v_2, sum(second.counts)))


def _p_value(metric: str, first: Sample, second: Sample, weight: float) -> float | None:
    if metric == "nps":
        return inference.nps_test(_nps_triple(first), _nps_triple(second))
    if metric == "response_rate":
        return inference.proportion_test(first.counts[0], first.counts[1], second.counts[0], second.counts[1])
    if metric == "success":
        return _success_p_value(first, second, weight)
    high = (first.scale or DEFAULT_SCALES[metric])[1]
    if metric in ("csat", "emotion_positive"):
        ones = [(s.counts[high] + s.counts[high - 1], sum(s.counts)) for s in (first, second)]
        return inference.proportion_test(ones[0][0], ones[0][1], ones[1][0], ones[1][1])
    (m_1, v_1), (m_2, v_2) = inference.mean_and_variance(first.counts), inference.mean_and_variance(second.counts)
    if v_1 is None or v_2 is None:
        return None
    return inference.welch_test((m_1, v_1, sum(first.counts)), (m_2, v_2, sum(second.counts)))


def comparison(
    metric: str, first: Sample, second: Sample, min_sample: int, *, partly_weight: float = DEFAULT_PARTLY_WEIGHT
) -> dict[str, Any]:
    """`change`, `p_value` and `significant` of `first` against `second` (tested only when both have a value).

    NPS: z = (NPS₁ - NPS₂)/sqrt(SE'₁² + SE'₂²) with the adjusted-Wald SEs; CSAT and response rate: the pooled
    two-proportion z test (success too when partly counts 0 or 1, emotion's % positive); CES, rating, emotion and
    success with another partly weight: Welch's t test. Significant at p < 0.05, both n at least the minimum sample.
    """
    value_1 = figures_of(metric, first, min_sample, partly_weight=partly_weight)["value"]
    value_2 = figures_of(metric, second, min_sample, partly_weight=partly_weight)["value"]
    if value_1 is None or value_2 is None:
        return {"change": None, "p_value": None, "significant": False}
    p_value = _p_value(metric, first, second, partly_weight)
    return {
        "change": value_1 - value_2,
        "p_value": p_value,
        "significant": p_value is not None and p_value < SIGNIFICANCE,
    }
