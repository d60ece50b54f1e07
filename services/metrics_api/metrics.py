"""`GET /v1/metrics/{metric}`: a metric over a period and scope, optionally grouped, bucketed or compared."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.anonymity import PROTECTS_SMALL_GROUP, protect_complement
from services.metrics_api.catalog import SurveyInfo, check_request, invitation_population, survey_catalog
from services.metrics_api.figures import (
    BELOW_MIN_SAMPLE,
    DEFAULT_PARTLY_WEIGHT,
    Sample,
    comparison,
    figures_of,
    sample_n,
)
from services.metrics_api.labels import FOLDED, GroupNames, group_names, in_org_order, label_groups
from services.metrics_api.league import check_depth, league_table
from services.metrics_api.models import OrgSettingsRow
from services.metrics_api.period import MAX_DAILY_BUCKETS, Period, bucket_of, resolve_period
from services.metrics_api.queries import INVITATIONS, Filters, Row, Scope, Split, invitation_rows, score_rows
from services.metrics_api.references import (
    active_targets,
    applicable_benchmark,
    applicable_target,
    benchmark_status,
    target_candidates,
    target_status,
)
from services.metrics_api.schemas import MetricsOrgSettings
from services.metrics_api.segment_trends import segment_trends
from services.metrics_api.sql import child_key, top_roots
from services.metrics_api.to_target import Goal, add_to_target
from shared.auth import Principal
from shared.clients import SurveyClient
from shared.errors import FieldError, Forbidden, Unprocessable, invalid
from shared.org_settings import load_org_settings

Fetch = Callable[[Period, Split, Filters], Awaitable[list[Row]]]


@dataclass(frozen=True)
class MetricRequest:
    """What a metrics request asks, parsed from its query string."""

    filters: Filters = field(default_factory=Filters)
    unit: str | None = None
    raw_from: str | None = None
    raw_to: str | None = None
    group_by: str | None = None
    interval: str | None = None
    compare: str | None = None
    include: frozenset[str] = frozenset()
    goal: Goal = field(default_factory=Goal)
    depth: int | None = None
    catalog: SurveyClient | None = None  # survey_api's catalog: group labels, journeys and stages
    partly_weight: float = DEFAULT_PARTLY_WEIGHT  # success: what a `partly` answer counts for


@dataclass(frozen=True)
class Context:
    """What every part of one answer shares."""

    metric: str
    scope: Scope
    filters: Filters
    min_sample: int
    fetch: Fetch
    split_by: str | None = None
    fold: dict[str, str] = field(default_factory=dict)  # journey/stage groups: each touchpoint's group key
    partly_weight: float = DEFAULT_PARTLY_WEIGHT

    @property
    def anonymous(self) -> bool:
        """Employees' results are anonymous: no counts below the minimum sample, not even by subtraction."""
        return self.filters.audience == "employees"

    def figures(self, sample: Sample) -> dict[str, Any]:
        """The figures of one sample (anonymous ones without counts below the minimum sample)."""
        return figures_of(
            self.metric, sample, self.min_sample, anonymous=self.anonymous, partly_weight=self.partly_weight
        )

    def compare(self, first: Sample, second: Sample) -> dict[str, Any]:
        """`change`, `p_value` and `significant` of one sample against another."""
        return comparison(self.metric, first, second, self.min_sample, partly_weight=self.partly_weight)


def resolve_scope(principal: Principal, unit: str | None) -> Scope:
    """The subtrees to sum: the unit asked for (403 outside the token's units), the token's units, or the org."""
    if unit is not None:
        if not principal.sees_unit(unit):
            raise Forbidden(f"Your token may not read metrics of unit {unit!r}")
        return Scope(principal.org, (unit,))
    if principal.units is not None:  # the org root `""` is no unit of a token: it never widens to the org
        return Scope(principal.org, top_roots([u for u in principal.units if u]))
    return Scope(principal.org, ("",))


def _check_options(metric: str, request: MetricRequest, period: Period) -> None:
    """422 for combinations this endpoint does not answer."""
    if request.group_by and request.interval and request.compare:
        raise invalid("compare", "a trend per group cannot be compared", "compare_grouped")
    segments = (request.compare or "").startswith("attr.")
    if segments and (request.group_by or request.interval):
        raise invalid("compare", "comparing segments cannot be combined with group_by or interval", "compare_grouped")
    if request.interval == "day" and period.days > MAX_DAILY_BUCKETS:
        raise invalid("interval", f"daily buckets cover at most {MAX_DAILY_BUCKETS} days", "too_many_buckets")
    if metric == "response_rate":
        _check_rate_options(request, segments)


def _check_rate_options(request: MetricRequest, segments: bool) -> None:
    """422 for what invitations do not have: questions and contact attributes."""
    refused = {
        "question": request.filters.question is not None,
        "attr": bool(request.filters.attrs),
        "theme": request.filters.theme is not None,
        "group_by": (request.group_by or "").startswith("attr."),
        "compare": segments,
    }
    for field_name, asked in refused.items():
        if asked:
            raise invalid(field_name, "the response rate has no question or attribute dimension", "not_applicable")


def _mixed_scales(metric: str, rows: Iterable[Row]) -> None:
    """422 when CSAT or CES answers on different scales would be combined into one number."""
    scales = sorted({row.scale for row in rows if row.scale is not None and any(row.counts)})
    if metric in ("csat", "ces", "rating") and len(scales) > 1:  # emotion (1-5) and success (0-2) have one
        shown = ", ".join(f"{low}-{high}" for low, high in scales)
        message = f"{metric} answers on different scales ({shown}) cannot be combined: filter by question or survey_id"
        raise Unprocessable(message, errors=[FieldError(field="question", message=message, code="mixed_scales")])


def _fold(metric: str, pairs: Iterable[tuple[str | None, Row]]) -> dict[str | None, Sample]:
    samples: dict[str | None, Sample] = {}
    for key, row in pairs:
        samples.setdefault(key, Sample.empty(metric)).add(row.counts, row.scale)
    return samples


async def _total(ctx: Context, period: Period, filters: Filters | None = None) -> Sample:
    rows = await ctx.fetch(period, Split(), filters or ctx.filters)
    _mixed_scales(ctx.metric, rows)
    return _fold(ctx.metric, ((None, r) for r in rows)).get(None, Sample.empty(ctx.metric))


async def _grouped(
    ctx: Context, period: Period, group_by: str, filters: Filters | None = None
) -> dict[str | None, Sample]:
    folded = group_by in FOLDED
    rows = await ctx.fetch(period, Split(group_by="touchpoint" if folded else group_by), filters or ctx.filters)
    _mixed_scales(ctx.metric, rows)
    if folded:  # touchpoint histograms add up to their journey's or stage's
        return _fold(ctx.metric, ((ctx.fold.get(r.key) if r.key else None, r) for r in rows))
    if group_by != "unit":
        return _fold(ctx.metric, ((r.key, r) for r in rows))
    keyed = ((child_key(r.key or "", ctx.scope.roots), r) for r in rows)
    return _fold(ctx.metric, ((k, r) for k, r in keyed if k is not None))


def _with_previous(ctx: Context, figures: dict[str, Any], current: Sample, previous: Sample) -> dict[str, Any]:
    before = ctx.figures(previous)
    figures["previous"] = {"value": before["value"], "n": before["n"]}
    return figures | ctx.compare(current, previous)


def _value_order(group: dict[str, Any]) -> tuple[bool, float, bool, str]:
    value, key = group["value"], group["key"]
    return value is None, -(value or 0.0), key is None, key or ""


async def _groups(
    ctx: Context, period: Period, group_by: str, totals: tuple[Sample, Sample | None]
) -> list[dict[str, Any]]:
    """One entry per group, best value first (nulls last); with the previous period's value when comparing
    (`totals`: the answer's total and, when comparing, the previous period's)."""
    current = await _grouped(ctx, period, group_by)
    previous = await _grouped(ctx, period.previous(), group_by) if totals[1] is not None else {}
    groups, earlier = [], []
    for key, sample in current.items():
        group = {"key": key, **ctx.figures(sample)}
        if totals[1] is not None:
            before = previous.get(key, Sample.empty(ctx.metric))
            group = _with_previous(ctx, group, sample, before)
            earlier.append((group, sample_n(ctx.metric, before)))
        groups.append(group)
    if ctx.anonymous:
        _protect(ctx, [(g, sample_n(ctx.metric, current[g["key"]])) for g in groups], totals[0])
        if totals[1] is not None:
            _protect_previous(ctx, earlier, totals[1])
    return sorted(groups, key=_value_order)


def _protect(ctx: Context, groups: list[tuple[dict[str, Any], int]], total: Sample) -> None:
    protect_complement(groups, sample_n(ctx.metric, total), ctx.min_sample)


def _protect_previous(ctx: Context, groups: list[tuple[dict[str, Any], int]], total: Sample) -> None:
    """The same protection for the previous period's values shown beside each group."""
    shown = [({"reason": None if f["previous"]["value"] is not None else BELOW_MIN_SAMPLE}, n) for f, n in groups]
    protect_complement(shown, sample_n(ctx.metric, total), ctx.min_sample)
    for (figures, _), (marker, _) in zip(groups, shown, strict=True):
        if marker["reason"] == PROTECTS_SMALL_GROUP:
            figures["previous"] = {"value": None, "n": None}
            figures.update(change=None, p_value=None, significant=False)


async def _league_targets(session: AsyncSession, ctx: Context, groups: list[dict[str, Any]], period: Period) -> None:
    """Each unit group's target (its own, or the nearest above it) and whether its value meets it."""
    candidates = await target_candidates(
        session, org=ctx.scope.org, metrics=(ctx.metric,), filters=ctx.filters, day=period.last
    )
    for group in groups:
        target = applicable_target(candidates, ctx.metric, group["key"] or None)
        group["target"] = target_status(target, group["value"])


def _next_bucket(start: dt.date, interval: str) -> dt.date:
    if interval == "day":
        return start + dt.timedelta(days=1)
    if interval == "week":
        return start + dt.timedelta(days=7)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _bucket_starts(period: Period, interval: str) -> list[dt.date]:
    """The first day of every bucket that overlaps the period (a week may start before `from`)."""
    starts, start = [], bucket_of(period.first, interval)
    while start <= period.last:
        starts.append(start)
        start = _next_bucket(start, interval)
    return starts


async def _trend(ctx: Context, period: Period, interval: str) -> tuple[Sample, list[dict[str, Any]]]:
    """The total and one entry per bucket of the period (empty buckets too, so a chart has every point)."""
    rows = await ctx.fetch(period, Split(interval=interval), ctx.filters)
    _mixed_scales(ctx.metric, rows)
    total = _fold(ctx.metric, ((None, r) for r in rows)).get(None, Sample.empty(ctx.metric))
    buckets = _fold(ctx.metric, ((bucket_of(r.day, interval).isoformat() if r.day else None, r) for r in rows))
    groups, sizes = [], []
    for start in _bucket_starts(period, interval):
        sample = buckets.get(start.isoformat(), Sample.empty(ctx.metric))
        groups.append({"key": start.isoformat(), **ctx.figures(sample)})
        sizes.append(sample_n(ctx.metric, sample))
    if ctx.anonymous:
        _protect(ctx, list(zip(groups, sizes, strict=True)), total)
    return total, groups


def _segment_spec(compare: str) -> tuple[str, tuple[str, str]]:
    key, _, values = compare.removeprefix("attr.").partition(":")
    first, _, second = values.partition(",")
    return key, (first, second)


async def _segments(ctx: Context, period: Period, compare: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The two attribute segments of `attr.<key>:<a>,<b>`, and the test of a against b."""
    key, values = _segment_spec(compare)
    attrs = (*((k, v) for k, v in ctx.filters.attrs if k != key), (key, values))
    samples = await _grouped(ctx, period, f"attr.{key}", replace(ctx.filters, attrs=attrs))
    first, second = (samples.get(v, Sample.empty(ctx.metric)) for v in values)
    segments = [{"key": v, "label": v, **ctx.figures(s)} for v, s in zip(values, (first, second), strict=True)]
    return segments, ctx.compare(first, second)


def _fetcher(session: AsyncSession, metric: str, scope: Scope, catalog: dict[str, SurveyInfo] | None) -> Fetch:
    async def fetch(period: Period, split: Split, filters: Filters) -> list[Row]:
        """The aggregated rows of `metric` in the scope."""
        if metric == "response_rate":
            surveys = invitation_population(catalog or {}, filters, INVITATIONS.c.survey_id)
            return await invitation_rows(
                session, scope=scope, filters=filters, period=period, split=split, surveys=surveys
            )
        return await score_rows(session, kind=metric, scope=scope, filters=filters, period=period, split=split)

    return fetch


async def _catalog(session: AsyncSession, org: str, metric: str, filters: Filters) -> dict[str, SurveyInfo] | None:
    """The org's surveys when the request needs them (a survey or question named, or invitations to place)."""
    if filters.survey_id is None and filters.question is None and metric != "response_rate":
        return None
    catalog = await survey_catalog(session, org)
    check_request(catalog, metric, filters)
    return catalog


async def _references(
    session: AsyncSession,
    principal: Principal,
    ctx: Context,
    answer: dict[str, Any],
    period: Period,
    include: frozenset[str],
) -> None:
    unit = ctx.scope.roots[0] or None if len(ctx.scope.roots) == 1 else None
    if "target" in include:
        found = {}
        if len(ctx.scope.roots) == 1:
            found = await active_targets(
                session, org=principal.org, metrics=(ctx.metric,), unit=unit, filters=ctx.filters, day=period.last
            )
        answer["target"] = target_status(found.get(ctx.metric), answer["value"])
        if answer.get("groups") and ctx.split_by == "unit":
            await _league_targets(session, ctx, answer["groups"], period)
    if "benchmark" in include and ctx.filters.audience == "customers":  # benchmarks are customer references
        benchmark = await applicable_benchmark(
            session, principal=principal, metric=ctx.metric, unit=unit, touchpoint_id=ctx.filters.touchpoint_id
        )
        answer["benchmark"] = benchmark_status(benchmark, answer["value"])


def _named(groups: list[dict[str, Any]], names: GroupNames | None, answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The groups with their labels (journeys and stages in the org's order); `degraded` without survey_api."""
    label_groups(groups, names)
    for group in groups:  # a group's trend: buckets, keyed by their first day
        label_groups(group.get("trend") or [], None)
    if names is not None and not names.known:
        answer["degraded"] = ["labels"]
    elif names is not None and names.fold:
        groups = in_org_order(groups, names)
    return groups


async def metric_answer(
    *, session: AsyncSession, principal: Principal, metric: str, request: MetricRequest
) -> dict[str, Any]:
    """The answer of `GET /v1/metrics/{metric}` (see `schemas.metrics`)."""
    settings = await load_org_settings(session, table=OrgSettingsRow, model=MetricsOrgSettings, org=principal.org)
    period = resolve_period(request.raw_from, request.raw_to, ZoneInfo(settings.timezone))
    _check_options(metric, request, period)
    scope = resolve_scope(principal, request.unit)
    if request.depth is not None:
        check_depth(request.depth, scope.roots, request)
    catalog = await _catalog(session, principal.org, metric, request.filters)
    fetch = _fetcher(session, metric, scope, catalog)
    names = await group_names(request.catalog, principal, request.group_by)
    fold = names.fold if names is not None else {}
    ctx = Context(metric, scope, request.filters, settings.min_sample, fetch, request.group_by, fold)
    ctx = replace(ctx, partly_weight=request.partly_weight)
    head = {"metric": metric, "period": period.describe(), "unit": request.unit, "min_sample": settings.min_sample}
    head["audience"] = request.filters.audience
    if request.interval:
        total, buckets = await _trend(ctx, period, request.interval)
    else:
        total, buckets = await _total(ctx, period), None
    answer = head | ctx.figures(total)
    previous = None
    if request.compare == "previous":
        previous = await _total(ctx, period.previous())
        answer = _with_previous(ctx, answer, total, previous)
    elif request.compare:
        answer["segments"], tested = await _segments(ctx, period, request.compare)
        answer |= tested
    if request.depth is not None:
        answer["groups"] = _named(await league_table(session, ctx, period, request.depth, total), names, answer)
    elif request.group_by and request.interval:
        starts = _bucket_starts(period, request.interval)
        groups, answer["groups_total"] = await segment_trends(
            ctx, period, request.group_by, request.interval, starts, total
        )
        answer["groups"] = _named(groups, names, answer)
    elif request.group_by:
        answer["groups"] = _named(await _groups(ctx, period, request.group_by, (total, previous)), names, answer)
    elif buckets is not None:
        answer["groups"] = _named(buckets, None, answer)
    await _references(session, principal, ctx, answer, period, request.include)
    await add_to_target(
        session=session,
        metric=metric,
        answer=answer,
        scope=scope,
        filters=ctx.filters,
        period=period,
        goal=request.goal,
    )
    return answer
