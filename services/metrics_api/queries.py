"""The aggregates behind every metric: one SQL query that returns counts per score, never rows of answers.

Rollups answer whenever the filters allow: the kind rollup for plain metrics, the question rollup when a
survey or question is named (or groups are surveys). A channel, touchpoint or attribute filter or group, or
an instant-bounded period, needs the dimensions only the facts keep: one `SUM(CASE WHEN score = k …)`
aggregate over them. Full months of long periods are read from the month rows, their edges from day rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, or_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.models import HISTOGRAM_COLUMNS, InvitationFact
from services.metrics_api.period import Period
from services.metrics_api.rollups import FACTS, KIND_TABLE, QUESTION_TABLE, histogram_sums
from services.metrics_api.sql import one_of, within
from services.metrics_api.themes.facts import themed

INVITATIONS: Table = InvitationFact.__table__  # type: ignore[attr-defined]
FACT_GROUPS = {"unit": "unit", "touchpoint": "touchpoint_id", "channel": "channel", "survey": "survey_id"}


@dataclass(frozen=True)
class Scope:
    """Whose answers: the org, and the unit subtrees to sum (disjoint; `""` is the whole org)."""

    org: str
    roots: tuple[str, ...]


@dataclass(frozen=True)
class Filters:
    """Which answers: exact dimensions, and attribute values (several values of one key: any of them).

    Only the `audience` asked for counts; follow-up answers (purpose `followup`) only when a survey is named.
    """

    survey_id: str | None = None
    question: str | None = None
    touchpoint_id: str | None = None
    channel: str | None = None
    attrs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    audience: str = "customers"
    theme: str | None = None  # only responses whose comment carries this theme (a code of the codebook)

    def population(self, table: Table) -> list[ColumnElement[bool]]:
        """SQL: the answers of the audience asked for, without follow-ups unless a survey is named."""
        where = [table.c.audience == self.audience]
        if self.survey_id is None:
            where.append(table.c.purpose == "standard")
        return where


@dataclass(frozen=True)
class Split:
    """How to split the answers: by a group (`unit`, `touchpoint`, `channel`, `survey`, `attr.<key>`) and/or
    by day (for an `interval`: `day`, `week` or `month`; months may come from month rows)."""

    group_by: str | None = None
    interval: str | None = None


@dataclass(frozen=True)
class Row:
    """One aggregated row: its group key, its day (or month start), its scale, and its counts."""

    key: str | None
    day: dt.date | None
    scale: tuple[int, int] | None
    counts: tuple[int, ...]


def needs_facts(filters: Filters, split: Split, period: Period) -> bool:
    """Whether the question can only be answered from the facts (dimensions the rollups do not keep)."""
    by_fact_dimension = split.group_by in ("touchpoint", "channel") or (split.group_by or "").startswith("attr.")
    asked = filters.touchpoint_id or filters.channel or filters.attrs or filters.theme
    return bool(asked or by_fact_dimension or period.since)


def _month_span(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date] | None:
    """The full months inside first..last, as [start, end) of their first days; None when there is none."""
    start = first if first.day == 1 else (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    after = last + dt.timedelta(days=1)
    end = after.replace(day=1)
    return (start, end) if start < end else None


def _rollup_period(table: Table, period: Period, interval: str | None) -> ColumnElement[bool]:
    days = and_(table.c.grain == "d", table.c.day >= period.first, table.c.day <= period.last)
    span = None if interval in ("day", "week") else _month_span(period.first, period.last)
    if span is None:
        return days
    start, end = span
    return or_(
        and_(table.c.grain == "m", table.c.day >= start, table.c.day < end),
        and_(table.c.grain == "d", table.c.day >= period.first, table.c.day < start),
        and_(table.c.grain == "d", table.c.day >= end, table.c.day <= period.last),
    )


def _facts_period(table: Table, period: Period, day_column: str, time_column: str) -> list[ColumnElement[bool]]:
    if period.since is not None and period.until is not None:
        return [table.c[time_column] >= period.since, table.c[time_column] < period.until]
    return [table.c[day_column] >= period.first, table.c[day_column] <= period.last]


async def plan_for_values(session: AsyncSession) -> None:
    """PostgreSQL: plan the rest of this transaction's statements for their actual values.

    psycopg prepares a statement run five times; PostgreSQL then may switch to a generic plan, blind to the
    period and the attribute value, which made an aggregate over the facts 1.5x slower (see bench/metrics_scale).
    """
    if session.get_bind().dialect.name == "postgresql":
        connection = await session.connection()
        await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


async def _aggregate(
    session: AsyncSession, *, key: Any, day: Any, scale: tuple[Any, Any] | None, counts: list[Any], where: list[Any]
) -> list[Row]:
    """SELECT key, day, scale, counts … GROUP BY key, day, scale (each only when asked)."""
    groups = [c for c in (key, day) if c is not None] + (list(scale) if scale else [])
    query = select(*groups, *counts).where(*where)
    if groups:
        query = query.group_by(*groups)
    rows = []
    for values in (await session.exec(query)).all():
        values = list(values)
        row_key = values.pop(0) if key is not None else None
        row_day = values.pop(0) if day is not None else None
        row_scale = (values.pop(0), values.pop(0)) if scale else None
        if values[0] is not None:  # an aggregate without GROUP BY over no rows sums to NULL
            rows.append(Row(row_key, row_day, row_scale, tuple(int(v) for v in values)))
    return rows


def _rollup_query(kind: str, scope: Scope, filters: Filters, period: Period, split: Split) -> dict[str, Any]:
    by_question = filters.survey_id or filters.question or split.group_by == "survey"
    table = QUESTION_TABLE if by_question else KIND_TABLE
    where = [table.c.org == scope.org, table.c.kind == kind, _rollup_period(table, period, split.interval)]
    where += filters.population(table)
    if split.group_by == "unit" and len(scope.roots) == 1:
        where.append(table.c.parent == scope.roots[0])  # the children: a league table
    else:
        where.append(one_of(table.c.unit, scope.roots))
    where += [
        table.c[name] == value
        for name, value in (("survey_id", filters.survey_id), ("question", filters.question))
        if value
    ]
    key = table.c[FACT_GROUPS[split.group_by]] if split.group_by in ("unit", "survey") else None
    counts = [func.sum(table.c[column]) for column in HISTOGRAM_COLUMNS]
    scale = (table.c.scale_min, table.c.scale_max)
    return {
        "key": key,
        "day": table.c.day if split.interval else None,
        "scale": scale,
        "counts": counts,
        "where": where,
    }


def _fact_filters(table: Table, scope: Scope, filters: Filters) -> list[Any]:
    where = [table.c.org == scope.org, within(table.c.unit, scope.roots)]
    exact = {"survey_id": filters.survey_id, "touchpoint_id": filters.touchpoint_id, "channel": filters.channel}
    if "question" in table.c:
        exact["question"] = filters.question
        where += [one_of(table.c.attributes[name].as_string(), values) for name, values in filters.attrs]
    where += [table.c[name] == value for name, value in exact.items() if value is not None]
    if filters.theme is not None and "response_id" in table.c:
        where.append(themed(table.c.response_id, scope.org, filters.theme))
    return where


def _fact_key(table: Table, group_by: str | None) -> Any:
    if group_by is None:
        return None
    if group_by.startswith("attr."):
        return table.c.attributes[group_by.removeprefix("attr.")].as_string()
    return table.c[FACT_GROUPS[group_by]]


def _facts_query(kind: str, scope: Scope, filters: Filters, period: Period, split: Split) -> dict[str, Any]:
    where = [*_fact_filters(FACTS, scope, filters), FACTS.c.kind == kind, *filters.population(FACTS)]
    where += _facts_period(FACTS, period, "day", "submitted_at")
    key, day = _fact_key(FACTS, split.group_by), FACTS.c.day if split.interval else None
    scale = (FACTS.c.scale_min, FACTS.c.scale_max)
    return {"key": key, "day": day, "scale": scale, "counts": histogram_sums(FACTS), "where": where}


async def score_rows(
    session: AsyncSession, *, kind: str, scope: Scope, filters: Filters, period: Period, split: Split
) -> list[Row]:
    """Answers of one kind per score, per group / day / scale as `split` asks: from rollups or facts."""
    if not needs_facts(filters, split, period):
        return await _aggregate(session, **_rollup_query(kind, scope, filters, period, split))
    await plan_for_values(session)
    return await _aggregate(session, **_facts_query(kind, scope, filters, period, split))


async def invitation_rows(
    session: AsyncSession,
    *,
    scope: Scope,
    filters: Filters,
    period: Period,
    split: Split,
    surveys: ColumnElement[bool] | None = None,
) -> list[Row]:
    """Invitations completed and delivered (counts `[completed, delivered]`), per group / day as asked;
    `surveys` (on `INVITATIONS.c.survey_id`) keeps those of the audience asked for."""
    t = INVITATIONS.c
    where = [
        *_fact_filters(INVITATIONS, scope, filters),
        *_facts_period(INVITATIONS, period, "invited_day", "invited_at"),
        *([surveys] if surveys is not None else []),
    ]
    counts = [
        func.sum(case((t.completed_at.is_not(None), 1), else_=0)),
        func.sum(case((t.delivered_at.is_not(None), 1), else_=0)),
    ]
    key, day = _fact_key(INVITATIONS, split.group_by), t.invited_day if split.interval else None
    await plan_for_values(session)
    return await _aggregate(session, key=key, day=day, scale=None, counts=counts, where=where)
