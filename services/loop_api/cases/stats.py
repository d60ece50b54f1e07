"""Case statistics: counts and SLA shares as SQL aggregates, percentiles in Python over bounded durations.

SQLite has no percentile aggregate, so the median and p90 of time to first contact are computed here
from the (group, opened, first contact) pairs of the filtered cases: at most 100 000 of them per
request (a wider range is a 422 asking for a narrower one), a few megabytes at most.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, null, or_, select
from sqlalchemy import case as when
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.filters import visible
from services.loop_api.cases.schemas import CaseStats, GroupBy, Outcomes, StatsFigures, StatsGroup
from services.loop_api.models import Case
from shared.auth import Principal
from shared.db import in_subtrees
from shared.errors import invalid

MAX_DURATIONS = 100_000
GROUP_COLUMNS = {"owner": Case.owner, "team": Case.team_id, "unit": Case.unit}
HOUR = dt.timedelta(hours=1)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


def _aggregates(now: dt.datetime) -> list[Any]:
    """The SQL aggregates of the figures, in the order `_figures` reads them."""
    first, resolved = col(Case.first_contact_at), col(Case.resolved_at)
    due_first, due_resolution = col(Case.due_first_contact_at), col(Case.due_resolution_at)
    first_stop = func.coalesce(first, resolved)
    first_met = and_(first.is_not(None), first <= due_first)
    first_missed = or_(and_(first_stop.is_(None), due_first < now), first_stop > due_first)
    resolution_met = and_(resolved.is_not(None), resolved <= due_resolution)
    resolution_missed = or_(and_(resolved.is_(None), due_resolution < now), resolved > due_resolution)
    closed_as = [and_(col(Case.status) == "closed", col(Case.outcome) == o) for o in Outcomes.model_fields]
    return [
        func.count(),
        func.count(first),
        _count(first_met),
        _count(first_missed),
        _count(resolution_met),
        _count(resolution_missed),
        func.count(col(Case.followup_response_id)),
        _count(col(Case.saved).is_(True)),
        *(_count(c) for c in closed_as),
    ]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _figures(row: Sequence[Any], durations: list[float]) -> dict[str, Any]:
    cases, contacted, first_met, first_missed, res_met, res_missed, answers, saved, *outcomes = (int(v) for v in row)
    p90 = statistics.quantiles(durations, n=10, method="inclusive")[8] if len(durations) > 1 else None
    return {
        "cases": cases,
        "first_contacts": contacted,
        "median_hours_to_first_contact": statistics.median(durations) if durations else None,
        "p90_hours_to_first_contact": p90 if p90 is not None else (durations[0] if durations else None),
        "first_contact_sla_decided": first_met + first_missed,
        "first_contact_within_sla_rate": _rate(first_met, first_met + first_missed),
        "resolution_sla_decided": res_met + res_missed,
        "resolved_within_sla_rate": _rate(res_met, res_met + res_missed),
        "followup_answers": answers,
        "saved": saved,
        "saved_rate": _rate(saved, answers),
        "outcomes": Outcomes(**dict(zip(Outcomes.model_fields, outcomes, strict=True))),
    }


async def _durations(session: AsyncSession, base: Any, group: Any) -> dict[str | None, list[float]]:
    """Hours from opening to first contact of the contacted cases, by group key; 422 beyond the bound."""
    statement = base.with_only_columns(group, col(Case.created_at), col(Case.first_contact_at)).where(
        col(Case.first_contact_at).is_not(None)
    )
    rows = (await session.exec(statement.limit(MAX_DURATIONS + 1))).all()
    if len(rows) > MAX_DURATIONS:
        raise invalid("from", f"more than {MAX_DURATIONS} contacted cases in range; narrow from/to", "too_many")
    by_group: dict[str | None, list[float]] = defaultdict(list)
    for key, opened, contacted in rows:
        by_group[key].append((contacted - opened) / HOUR)
    return by_group


async def case_stats(
    *,
    session: AsyncSession,
    principal: Principal,
    start: dt.datetime,
    end: dt.datetime,
    by: GroupBy | None,
    now: dt.datetime,
    unit: str | None = None,
) -> CaseStats:
    """The figures of the caller's cases opened in [start, end) (in `unit`'s subtree when given), overall and per
    owner, team or unit."""
    # A Core select: rows stay tuples when the columns are swapped (sqlmodel's would yield scalars).
    base: Any = visible(select(col(Case.id)), principal).where(
        col(Case.created_at) >= start, col(Case.created_at) < end
    )
    if unit is not None:
        base = base.where(in_subtrees(col(Case.unit), [unit]))
    group: Any = col(GROUP_COLUMNS[by]) if by is not None else null()
    durations = await _durations(session, base, group)
    overall_row = (await session.exec(base.with_only_columns(*_aggregates(now)))).one()
    overall = StatsFigures(**_figures(overall_row, [d for ds in durations.values() for d in ds]))
    groups: list[StatsGroup] = []
    if by is not None:
        statement = base.with_only_columns(group, *_aggregates(now)).group_by(group).order_by(group)
        for key, *row in (await session.exec(statement)).all():
            groups.append(StatsGroup(key=key, **_figures(row, durations.get(key, []))))
    return CaseStats(start=start, end=end, as_of=now, by=by, overall=overall, groups=groups)
