"""Trends per segment: `group_by` together with `interval` gives each group its own trend (`groups[].trend`).

One aggregate grouped by segment and day (rollups or facts, as the metrics choose); the segments with the most
answers are kept (at most `MAX_GROUPS`) and `groups_total` says how many there were. Employees' trends are
anonymous as everywhere: no group or bucket below the minimum sample can be read, not even by subtraction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from services.metrics_api.anonymity import PROTECTS_SMALL_GROUP, hide, protect_complement
from services.metrics_api.figures import Sample, sample_n
from services.metrics_api.labels import FOLDED
from services.metrics_api.period import Period, bucket_of
from services.metrics_api.queries import Split
from services.metrics_api.sql import child_key

if TYPE_CHECKING:  # metrics imports this module
    from services.metrics_api.metrics import Context

MAX_GROUPS = 20
Buckets = dict[tuple[str | None, str], Sample]


def _best_first(group: dict[str, Any]) -> tuple[bool, float, str]:
    return group["value"] is None, -(group["value"] or 0.0), group["key"] or ""


def _key(ctx: Context, group_by: str, key: str | None) -> str | None:
    """The group of a row's key: a unit's child of the scope, a touchpoint's journey or stage, else the key."""
    if group_by == "unit":
        return child_key(key or "", ctx.scope.roots)
    if group_by in FOLDED:
        return ctx.fold.get(key) if key else None
    return key


async def _samples(
    ctx: Context, period: Period, group_by: str, interval: str
) -> tuple[dict[str | None, Sample], Buckets]:
    """Each group's sample over the period and per bucket (from aggregated rows: group x day x scale)."""
    folded = group_by in FOLDED  # journeys and stages: their touchpoints' histograms add up
    rows = await ctx.fetch(period, Split(group_by="touchpoint" if folded else group_by, interval=interval), ctx.filters)
    totals: dict[str | None, Sample] = {}
    buckets: Buckets = {}
    for row in rows:
        key = _key(ctx, group_by, row.key)
        if (group_by == "unit" and key is None) or row.day is None:
            continue
        totals.setdefault(key, Sample.empty(ctx.metric)).add(row.counts, row.scale)
        bucket = (key, bucket_of(row.day, interval).isoformat())
        buckets.setdefault(bucket, Sample.empty(ctx.metric)).add(row.counts, row.scale)
    return totals, buckets


def _trend(ctx: Context, key: str | None, total: Sample, buckets: Buckets, starts: list[dt.date]) -> list[Any]:
    """One entry per bucket of a group (anonymous: no bucket readable as the group's total minus the others)."""
    points = []
    for start in starts:
        sample = buckets.get((key, start.isoformat()), Sample.empty(ctx.metric))
        points.append(({"key": start.isoformat(), **ctx.figures(sample)}, sample_n(ctx.metric, sample)))
    if ctx.anonymous:
        protect_complement(points, sample_n(ctx.metric, total), ctx.min_sample)
    return [figures for figures, _ in points]


async def segment_trends(
    ctx: Context, period: Period, group_by: str, interval: str, starts: list[dt.date], total: Sample
) -> tuple[list[dict[str, Any]], int]:
    """The (at most 20 largest) groups, best value first, each with its figures and one entry per bucket
    (`starts`: the first days of the period's buckets); and how many groups there were (`total`: the answer's)."""
    totals, buckets = await _samples(ctx, period, group_by, interval)
    largest = sorted(totals, key=lambda k: (-sample_n(ctx.metric, totals[k]), k or ""))[:MAX_GROUPS]
    groups = [{"key": key, **ctx.figures(totals[key])} for key in largest]
    if ctx.anonymous:
        sized = [(group, sample_n(ctx.metric, totals[group["key"]])) for group in groups]
        protect_complement(sized, sample_n(ctx.metric, total), ctx.min_sample)
    for group in groups:
        group["trend"] = _trend(ctx, group["key"], totals[group["key"]], buckets, starts)
        if group.get("reason") == PROTECTS_SMALL_GROUP:  # hidden to protect others: its trend too
            for point in group["trend"]:
                hide(point)
    return sorted(groups, key=_best_first), len(totals)
