"""League tables: `group_by=unit&depth=N` ranks every unit at depth N of the tree (`depth=3`: all stores) inside the
scope, not only the direct children, with its rank, percentile and a test of the unit against the rest of the scope;
with `include=target` each row's target and whether it is met (`metrics._league_targets`, as for any unit group).
Employees' rows are anonymous as everywhere: no unit below the minimum sample can be read, not even by subtraction.

Rollups keep a row per unit ancestor, so the units at depth N are read directly (rows whose path has N parts);
on the facts each leaf unit's aggregate is folded into its ancestor at depth N.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.anonymity import PROTECTS_SMALL_GROUP, protect_complement
from services.metrics_api.figures import Sample, sample_n
from services.metrics_api.models import HISTOGRAM_COLUMNS
from services.metrics_api.period import Period
from services.metrics_api.queries import Row, Split, _aggregate, _rollup_period, needs_facts
from services.metrics_api.rollups import KIND_TABLE, QUESTION_TABLE
from services.metrics_api.sql import within
from shared.errors import invalid

if TYPE_CHECKING:  # metrics imports this module
    from services.metrics_api.metrics import Context, MetricRequest

MAX_DEPTH = 20


def check_depth(depth: int, roots: tuple[str, ...], request: MetricRequest) -> None:
    """422 unless `depth` comes with `group_by=unit` alone and lies below every unit of the scope."""
    if request.group_by != "unit" or request.interval is not None or request.compare is not None:
        message = "depth ranks units: use it with group_by=unit, without interval or compare"
        raise invalid("depth", message, "depth_needs_unit")
    deepest = max(len(root.split("/")) if root else 0 for root in roots)
    if depth <= deepest:
        raise invalid("depth", f"must be deeper than the unit asked for (depth {deepest})", "depth_too_shallow")


def _slashes(column: Any) -> ColumnElement[int]:
    result: ColumnElement[int] = func.length(column) - func.length(func.replace(column, "/", ""))
    return result


async def _rollup_rows(session: AsyncSession, ctx: Context, period: Period, depth: int) -> list[Row]:
    """Per unit at depth `depth` inside the scope (its own rollup rows), answers per score and scale."""
    table = QUESTION_TABLE if ctx.filters.survey_id or ctx.filters.question else KIND_TABLE
    where = [table.c.org == ctx.scope.org, table.c.kind == ctx.metric, _rollup_period(table, period, None)]
    where += [within(table.c.unit, ctx.scope.roots), table.c.unit != "", _slashes(table.c.unit) == depth - 1]
    where += ctx.filters.population(table)
    where += [
        table.c[name] == value
        for name, value in (("survey_id", ctx.filters.survey_id), ("question", ctx.filters.question))
        if value
    ]
    counts = [func.sum(table.c[column]) for column in HISTOGRAM_COLUMNS]
    scale = (table.c.scale_min, table.c.scale_max)
    return await _aggregate(session, key=table.c.unit, day=None, scale=scale, counts=counts, where=where)


def _ancestor(unit: str, depth: int) -> str | None:
    parts = unit.split("/") if unit else []
    return "/".join(parts[:depth]) if len(parts) >= depth else None


async def _unit_samples(session: AsyncSession, ctx: Context, period: Period, depth: int) -> dict[str | None, Sample]:
    by_unit = Split(group_by="unit")
    if ctx.metric != "response_rate" and not needs_facts(ctx.filters, by_unit, period):
        rows = await _rollup_rows(session, ctx, period, depth)
    else:  # facts (and invitations) are keyed by their leaf unit
        rows = await ctx.fetch(period, by_unit, ctx.filters)
    # mixed CSAT/CES scales were refused by the scope's total, computed first over the same answers
    samples: dict[str | None, Sample] = {}
    for row in rows:
        key = _ancestor(row.key or "", depth)
        if key is not None:
            samples.setdefault(key, Sample.empty(ctx.metric)).add(row.counts, row.scale)
    return samples


def _rest(total: Sample, part: Sample) -> Sample:
    return Sample(counts=[a - b for a, b in zip(total.counts, part.counts, strict=True)], scale=total.scale)


def _ranked(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best value first (nulls last) with rank 1.. (ties share the best rank) and the percentile of each
    valued unit: the % of the other valued units it is above (the top is 100, the bottom 0)."""
    groups.sort(key=lambda g: (g["value"] is None, -(g["value"] or 0.0), g["key"] or ""))
    valued = [g["value"] for g in groups if g["value"] is not None]
    for group in groups:
        value = group["value"]
        if value is None:
            group |= {"rank": None, "percentile": None}
            continue
        below = sum(1 for v in valued if v < value)
        group["rank"] = 1 + sum(1 for v in valued if v > value)
        group["percentile"] = 100.0 * below / (len(valued) - 1) if len(valued) > 1 else 100.0
    return groups


async def league_table(
    session: AsyncSession, ctx: Context, period: Period, depth: int, total: Sample
) -> list[dict[str, Any]]:
    """Every unit at `depth` in the scope with its figures, rank, percentile, and whether it is significantly
    above or below the rest of the scope (the two-sample test of the metric, p < 0.05, both n ≥ minimum)."""
    samples = await _unit_samples(session, ctx, period, depth)
    groups = []
    for key, sample in samples.items():
        tested = ctx.compare(sample, _rest(total, sample))
        above = tested["significant"] and (tested["change"] or 0.0) > 0
        below = tested["significant"] and (tested["change"] or 0.0) < 0
        groups.append({"key": key, **ctx.figures(sample), "significantly_above": above, "significantly_below": below})
        groups[-1]["vs_rest_p_value"] = tested["p_value"]
    if ctx.anonymous:
        sized = [(group, sample_n(ctx.metric, samples[group["key"]])) for group in groups]
        protect_complement(sized, sample_n(ctx.metric, total), ctx.min_sample)
        for group in groups:
            if group.get("reason") == PROTECTS_SMALL_GROUP:  # nothing of a hidden unit, its test neither
                group |= {"significantly_above": False, "significantly_below": False}
    return _ranked(groups)
