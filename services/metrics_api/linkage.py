"""Value linkage (DESIGN §4): what customers did after what they said, per NPS group, in one SQL query.

Each contact in scope is grouped by their latest NPS answer in the period (among the answers the unit,
survey and attribute filters keep; ties broken by response id). An outcome counts when it happened after
that answer and at most `window_days` later. Revenue is the sum of the contact's `revenue` outcomes in that
same window. The query ranks the answers per contact, joins the outcomes of the window, folds them per
contact and then per group: three rows come back, never the contacts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Interval, Table, and_, case, cast, func, literal, select
from sqlalchemy.sql.expression import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.figures import BELOW_MIN_SAMPLE
from services.metrics_api.inference import LEVEL, proportion_test, wilson
from services.metrics_api.metrics import resolve_scope
from services.metrics_api.models import OrgSettingsRow, OutcomeFact, ScoreFact
from services.metrics_api.period import Period, resolve_period
from services.metrics_api.queries import Scope, plan_for_values
from services.metrics_api.schemas import MetricsOrgSettings
from services.metrics_api.sql import one_of, within
from shared.auth import Principal
from shared.org_settings import load_org_settings

FACTS: Table = ScoreFact.__table__  # type: ignore[attr-defined]
OUTCOMES: Table = OutcomeFact.__table__  # type: ignore[attr-defined]
GROUPS = ("promoter", "passive", "detractor")
DEFAULT_PERIOD_DAYS = 365
MS_PER_DAY = 86_400_000


@dataclass(frozen=True)
class LinkageRequest:
    """What a linkage request asks, parsed from its query string."""

    outcome: str
    window_days: int = 365
    unit: str | None = None
    survey_id: str | None = None
    attrs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    raw_from: str | None = None
    raw_to: str | None = None


@dataclass(frozen=True)
class GroupCounts:
    """One NPS group's aggregates as the query returns them."""

    contacts: int = 0
    with_outcome: int = 0
    churned: int = 0
    revenue: float = 0.0


def _in_window(outcome: Any, answered: Any, days: int, dialect: str) -> ColumnElement[bool]:
    """SQL: `outcome` lies in (answered, answered + days] — exact to the microsecond (PostgreSQL) or ms (SQLite)."""
    if dialect == "postgresql":
        return and_(outcome > answered, outcome <= answered + literal(dt.timedelta(days=days), Interval()))
    # SQLite keeps timestamps as text: compare the difference of their Julian days, in whole milliseconds.
    elapsed = cast(func.round((func.julianday(outcome) - func.julianday(answered)) * MS_PER_DAY), Integer)
    return and_(outcome > answered, elapsed <= days * MS_PER_DAY)


def _answer_period(period: Period) -> list[ColumnElement[bool]]:
    if period.since is not None and period.until is not None:
        return [FACTS.c.submitted_at >= period.since, FACTS.c.submitted_at < period.until]
    return [FACTS.c.day >= period.first, FACTS.c.day <= period.last]


def _latest_answers(scope: Scope, asked: LinkageRequest, period: Period) -> Any:
    """Per contact, the group of their latest NPS answer in scope and period, and when it was given."""
    f = FACTS.c
    where = [f.org == scope.org, f.kind == "nps", f.contact_id.is_not(None), within(f.unit, scope.roots)]
    where += _answer_period(period)
    # Customers only (employee answers are anonymous); follow-up answers only when their survey is named.
    where.append(f.audience == "customers")
    where.append(f.survey_id == asked.survey_id if asked.survey_id is not None else f.purpose == "standard")
    where += [one_of(f.attributes[key].as_string(), values) for key, values in asked.attrs]
    order = (f.submitted_at.desc(), f.response_id.desc(), f.question.desc())
    ranked = (
        select(
            f.contact_id,
            f.score,
            f.submitted_at,
            func.row_number().over(partition_by=f.contact_id, order_by=order).label("position"),
        )
        .where(*where)
        .subquery("ranked")
    )
    group = case((ranked.c.score >= 9, "promoter"), (ranked.c.score >= 7, "passive"), else_="detractor")
    return (
        select(ranked.c.contact_id, ranked.c.submitted_at, group.label("grp"))
        .where(ranked.c.position == 1)
        .subquery("latest")
    )


def linkage_query(scope: Scope, asked: LinkageRequest, period: Period, dialect: str) -> Any:
    """The one statement: per group, contacts, contacts with the outcome, contacts who churned, revenue."""
    latest = _latest_answers(scope, asked, period)
    o = OUTCOMES.c
    joined = latest.outerjoin(
        OUTCOMES,
        and_(
            o.org == scope.org,
            o.contact_id == latest.c.contact_id,
            o.kind.in_(sorted({asked.outcome, "churned", "revenue"})),
            _in_window(o.occurred_at, latest.c.submitted_at, asked.window_days, dialect),
        ),
    )
    per_contact = (
        select(
            latest.c.grp,
            func.max(case((o.kind == asked.outcome, 1), else_=0)).label("hit"),
            func.max(case((o.kind == "churned", 1), else_=0)).label("churned"),
            func.sum(case((o.kind == "revenue", func.coalesce(o.value, 0.0)), else_=0.0)).label("revenue"),
        )
        .select_from(joined)
        .group_by(latest.c.contact_id, latest.c.grp)
        .subquery("per_contact")
    )
    c = per_contact.c
    return select(c.grp, func.count(), func.sum(c.hit), func.sum(c.churned), func.sum(c.revenue)).group_by(c.grp)


async def group_counts(
    session: AsyncSession, scope: Scope, asked: LinkageRequest, period: Period
) -> dict[str, GroupCounts]:
    """Run the linkage query: the aggregates of each NPS group (an empty group has zeros)."""
    dialect = session.get_bind().dialect.name
    await plan_for_values(session)
    rows = (await session.exec(linkage_query(scope, asked, period, dialect))).all()  # type: ignore[call-overload]
    found = {
        grp: GroupCounts(int(n), int(hit or 0), int(churned or 0), float(revenue or 0.0))
        for grp, n, hit, churned, revenue in rows
    }
    return {name: found.get(name, GroupCounts()) for name in GROUPS}


def _group(name: str, counts: GroupCounts, min_sample: int) -> dict[str, Any]:
    n = counts.contacts
    figures: dict[str, Any] = {"group": name, "contacts": n, "with_outcome": counts.with_outcome}
    figures |= {"churned": counts.churned, "revenue_total": counts.revenue}
    figures["revenue_mean"] = counts.revenue / n if n else None
    if n == 0 or n < min_sample:
        return figures | {"rate_pct": None, "ci": None, "reason": BELOW_MIN_SAMPLE}
    low, high = wilson(counts.with_outcome, n)
    interval = {"low": 100.0 * low, "high": 100.0 * high, "level": LEVEL}
    return figures | {"rate_pct": 100.0 * counts.with_outcome / n, "ci": interval}


def _comparison(detractors: GroupCounts, promoters: GroupCounts, min_sample: int) -> dict[str, Any]:
    if min(detractors.contacts, promoters.contacts) < max(min_sample, 1):
        return {"difference_pct": None, "rate_ratio": None, "p_value": None, "significant": False} | {
            "reason": BELOW_MIN_SAMPLE
        }
    rate_d = detractors.with_outcome / detractors.contacts
    rate_p = promoters.with_outcome / promoters.contacts
    p_value = proportion_test(detractors.with_outcome, detractors.contacts, promoters.with_outcome, promoters.contacts)
    return {
        "difference_pct": 100.0 * (rate_d - rate_p),
        "rate_ratio": rate_d / rate_p if rate_p else None,
        "p_value": p_value,
        "significant": p_value < 0.05,
    }


def revenue_at_risk(detractors: GroupCounts, promoters: GroupCounts, min_sample: int) -> float | None:
    """Detractors' revenue x max(0, detractors' churn rate - promoters' churn rate) (DESIGN §4)."""
    if min(detractors.contacts, promoters.contacts) < max(min_sample, 1):
        return None
    excess = detractors.churned / detractors.contacts - promoters.churned / promoters.contacts
    return detractors.revenue * max(0.0, excess)


async def linkage_answer(*, session: AsyncSession, principal: Principal, asked: LinkageRequest) -> dict[str, Any]:
    """The value linkage answer for the caller's scope (403 for a unit outside the token's units)."""
    settings = await load_org_settings(session, table=OrgSettingsRow, model=MetricsOrgSettings, org=principal.org)
    zone = ZoneInfo(settings.timezone)
    period = resolve_period(asked.raw_from, asked.raw_to, zone, days=DEFAULT_PERIOD_DAYS)
    scope = resolve_scope(principal, asked.unit)
    counts = await group_counts(session, scope, asked, period)
    detractors, promoters, min_sample = counts["detractor"], counts["promoter"], settings.min_sample
    return {
        "outcome": asked.outcome,
        "window_days": asked.window_days,
        "period": period.describe(),
        "min_sample": min_sample,
        "groups": [_group(name, counts[name], min_sample) for name in GROUPS],
        "detractor_vs_promoter": _comparison(detractors, promoters, min_sample),
        "revenue_at_risk": revenue_at_risk(detractors, promoters, min_sample),
    }
