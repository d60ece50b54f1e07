"""What it takes to reach a target: the fewest answers that, each moved alone in one way, reach it.

NPS: `detractor→promoter` ⌈(T - NPS)·n/200⌉, `passive→promoter` and `detractor→passive` ⌈(T - NPS)·n/100⌉.
CSAT (and any metric with a histogram and a scale): `below→satisfied` ⌈T·n/100 - satisfied⌉, or with
`target_on=top_box` the point below the top into the top, ⌈T·n/100 - top⌉. Rating: its value is a mean score, so
a `value` target is a mean: the point below the top into the top ⌈T·n - Σscores⌉, the lowest point into the top
⌈(T·n - Σscores)/(top - lowest)⌉; `top_box` as for CSAT; emotion's value is a mean on 1-5, moved the same way.
Success (100·(yes + w·partly)/n): with gap = T·n/100 - (yes + w·partly), `no→yes` ⌈gap⌉, `partly→yes`
⌈gap/(1 - w)⌉, `no→partly` ⌈gap/w⌉. A move that needs more answers than exist (or closes nothing) is None; a met
target needs 0. Counts use exact fractions, so 30 % of 10 answers is 3, never 4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.period import Period
from services.metrics_api.queries import Filters, Scope
from services.metrics_api.references import active_targets
from shared.errors import invalid

TARGET_METRICS = ("nps", "csat", "rating", "success", "emotion")  # the metrics whose moves are defined
MEAN_METRICS = ("rating", "emotion")  # a `value` target is a mean score
ON = ("value", "top_box")


@dataclass(frozen=True)
class Goal:
    """The `target=` and `target_on=` of a request (None: use the scope's saved target, if any)."""

    target: float | None = None
    on: str | None = None


def _count(gap: Fraction, per_answer: int | Fraction, available: int) -> int | None:
    """Answers to move when each closes `per_answer` of the gap: 0 if none is missing, None if too few exist
    (or when the move closes nothing)."""
    if gap <= 0:
        return 0
    if per_answer <= 0:
        return None
    needed = math.ceil(gap / per_answer)
    return needed if needed <= available else None


def _move(origin: str, destination: str, count: int | None) -> dict[str, Any]:
    return {"from": origin, "to": destination, "count": count}


def nps_moves(target: float, promoters: int, passives: int, detractors: int) -> tuple[bool, list[dict[str, Any]]]:
    """Whether an NPS target is met, and the three moves that would each reach it alone."""
    n = promoters + passives + detractors
    gap = Fraction(str(target)) * n / 100 - (promoters - detractors)  # (T - NPS)·n/100, in answers
    moves = [
        _move("detractor", "promoter", _count(gap, 2, detractors)),
        _move("passive", "promoter", _count(gap, 1, passives)),
        _move("detractor", "passive", _count(gap, 1, detractors)),
    ]
    return gap <= 0, moves


def scale_moves(target: float, histogram: dict[str, int], top: int, on: str) -> tuple[bool, list[dict[str, Any]]]:
    """Whether a top-2-box (`value`) or top-box (`top_box`) % target is met, and the move that reaches it."""
    n = sum(histogram.values())
    top_count, below_top = histogram.get(str(top), 0), histogram.get(str(top - 1), 0)
    wanted = Fraction(str(target)) * n / 100
    if on == "top_box":
        gap = wanted - top_count
        return gap <= 0, [_move(str(top - 1), str(top), _count(gap, 1, below_top))]
    satisfied = top_count + below_top
    gap = wanted - satisfied
    return gap <= 0, [_move("below", "satisfied", _count(gap, 1, n - satisfied))]


def mean_moves(target: float, histogram: dict[str, int], low: int, top: int) -> tuple[bool, list[dict[str, Any]]]:
    """Whether a mean-score target is met, and the moves into the top point that would each reach it alone."""
    n = sum(histogram.values())
    gap = Fraction(str(target)) * n - sum(int(score) * count for score, count in histogram.items())
    moves = [_move(str(top - 1), str(top), _count(gap, 1, histogram.get(str(top - 1), 0)))]
    if low < top - 1:
        moves.append(_move(str(low), str(top), _count(gap, top - low, histogram.get(str(low), 0))))
    return gap <= 0, moves


def success_moves(target: float, figures: dict[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
    """Whether a success-rate target is met, and the moves that would each reach it alone: no→yes closes 1 of
    the gap (in answers), partly→yes 1 - w, no→partly w (w = the partly weight)."""
    yes, partly, no, weight = figures["yes"], figures["partly"], figures["no"], Fraction(str(figures["partly_weight"]))
    n = yes + partly + no
    gap = Fraction(str(target)) * n / 100 - (yes + weight * partly)
    moves = [
        _move("no", "yes", _count(gap, 1, no)),
        _move("partly", "yes", _count(gap, 1 - weight, partly)),
        _move("no", "partly", _count(gap, weight, no)),
    ]
    return gap <= 0, moves


def to_target(metric: str, figures: dict[str, Any], *, target: float, on: str, source: str) -> dict[str, Any]:
    """The `to_target` field of an answer's figures (nps, or csat/rating: `histogram`, `scale_min`, `scale_max`).

    While the value is null (below the minimum sample) nothing is said: `met` and every count are None."""
    if metric == "nps":
        met, moves = nps_moves(target, figures["promoters"], figures["passives"], figures["detractors"])
    elif metric == "success":
        met, moves = success_moves(target, figures)
    elif metric in MEAN_METRICS and on == "value":
        met, moves = mean_moves(target, figures["histogram"], figures["scale_min"], figures["scale_max"])
    else:
        met, moves = scale_moves(target, figures["histogram"], figures["scale_max"], on)
    answer = {"target": target, "target_on": on, "source": source, "met": met, "moves": moves}
    if figures["value"] is None:
        answer |= {"met": None, "moves": [move | {"count": None} for move in moves]}
    return answer


def _check(metric: str, goal: Goal) -> None:
    """422 for a target of a metric without moves, a top-box NPS target, or a target outside its range."""
    if goal.on is not None and goal.target is None:
        raise invalid("target_on", "needs target", "target_missing")
    if goal.target is None:
        return
    if metric not in TARGET_METRICS:
        message = f"{metric} has no moves towards a target (nps, csat, rating, success and emotion do)"
        raise invalid("target", message, "not_applicable")
    if goal.on == "top_box" and metric not in ("csat", "rating"):
        raise invalid("target_on", "top_box applies to csat and rating", "not_applicable")
    low, high = -100.0 if metric == "nps" else 0.0, 100.0
    if metric == "rating" and goal.on != "top_box":
        high = 10.0  # a mean score (the top box is a percentage)
    if metric == "emotion":
        low, high = 1.0, 5.0  # a mean score on 1-5
    if not low <= goal.target <= high:
        raise invalid("target", f"a {metric} target lies within {low:g}..{high:g}", "out_of_range")


async def add_to_target(
    *,
    session: AsyncSession,
    metric: str,
    answer: dict[str, Any],
    scope: Scope,
    filters: Filters,
    period: Period,
    goal: Goal,
) -> None:
    """Set `answer["to_target"]` for the asked target, else for the scope's saved target (one unit or the org)."""
    _check(metric, goal)
    if metric not in TARGET_METRICS:
        return
    if goal.target is not None:
        answer["to_target"] = to_target(metric, answer, target=goal.target, on=goal.on or "value", source="request")
        return
    if len(scope.roots) != 1:  # a saved target belongs to one scope: none for several units at once
        return
    saved = await active_targets(
        session, org=scope.org, metrics=(metric,), unit=scope.roots[0] or None, filters=filters, day=period.last
    )
    if metric in saved:
        answer["to_target"] = to_target(metric, answer, target=saved[metric].value, on="value", source="saved")
