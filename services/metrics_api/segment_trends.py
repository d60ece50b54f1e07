"""Trends per segment: `group_by` together with `interval` gives each group its own trend (`groups[].trend`).

One aggregate grouped by segment and day (rollups or facts, as the metrics choose); the segments with the most
answers are kept (at most `MAX_GROUPS`) and `groups_total` says how many there were.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from services.metrics_api.figures import Sample, figures_of
from services.metrics_api.period import Period, bucket_of
from services.metrics_api.queries import Split
from services.metrics_api.sql import child_key

if TYPE_CHECKING:  # metrics imports this module
    from services.metrics_api.metrics import Context

MAX_GROUPS = 20


def _best_first(group: dict[str, Any]) -> tuple[bool, float, str]:
    return group["value"] is None, -(group["value"] or 0.0), group["key"] or ""


async def segment_trends(
    ctx: Context, period: Period, group_by: str, interval: str, starts: list[dt.date]
) -> tuple[list[dict[str, Any]], int]:
    """The (at most 20 largest) groups, best value first, each with its figures and one entry per bucket
    (`starts`: the first days of the period's buckets); and how many groups there were."""
    rows = await ctx.fetch(period, Split(group_by=group_by, interval=interval), ctx.filters)
    totals: dict[str | None, Sample] = {}
    buckets: dict[tuple[str | None, str], Sample] = {}
    for row in rows:  # aggregated rows (group x day x scale), not answers
        key = child_key(row.key or "", ctx.scope.roots) if group_by == "unit" else row.key
        if (group_by == "unit" and key is None) or row.day is None:
            continue
        totals.setdefault(key, Sample.empty(ctx.metric)).add(row.counts, row.scale)
        bucket = (key, bucket_of(row.day, interval).isoformat())
        buckets.setdefault(bucket, Sample.empty(ctx.metric)).add(row.counts, row.scale)
    figures = {key: figures_of(ctx.metric, sample, ctx.min_sample) for key, sample in totals.items()}
    largest = sorted(figures, key=lambda k: (-figures[k]["n"], k or ""))[:MAX_GROUPS]
    groups = []
    for key in largest:
        trend = []
        for start in starts:
            sample = buckets.get((key, start.isoformat()), Sample.empty(ctx.metric))
            trend.append({"key": start.isoformat(), **figures_of(ctx.metric, sample, ctx.min_sample)})
        groups.append({"key": key, **figures[key], "trend": trend})
    return sorted(groups, key=_best_first), len(totals)
