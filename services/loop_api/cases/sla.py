"""SLA policy → due times, and the SLA state of a case as of a given instant (in Python and in SQL).

A case has two clocks. The first-contact clock stops at the first contact, or when the case is resolved
without one. The resolution clock stops when the case is resolved and runs again if it is reopened.
A clock that stopped late, or still runs past its due time, is a breach; that stays `breached` for good.
`at_risk`: a running clock has used 80 % of its business time. Both clocks start when the case opens.
While the case waits on the customer the resolution clock is paused: it reads the time it was paused instead of
now, and on leaving `waiting_on_customer` its due and at-risk times still ahead move back by the business hours
spent waiting (`resume_resolution_clock`). The first-contact clock never pauses.
The Python and SQL forms below say the same thing; the tests hold them to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, not_, or_
from sqlmodel import col

from services.loop_api.cases.business_hours import add_business_hours, business_hours_between
from services.loop_api.cases.schemas import SlaState
from services.loop_api.models import Case
from services.loop_api.org_settings import LoopOrgSettings
from services.loop_api.rules.schemas import SlaPolicy

AT_RISK_SHARE = 0.8


@dataclass(frozen=True)
class DueTimes:
    """The policy's hours and the instants derived from them when a case opens."""

    first_contact_hours: float
    resolution_hours: float
    due_first_contact_at: dt.datetime
    due_resolution_at: dt.datetime
    at_risk_first_contact_at: dt.datetime
    at_risk_resolution_at: dt.datetime


def due_times(start: dt.datetime, policy: SlaPolicy, settings: LoopOrgSettings) -> DueTimes:
    """Due and at-risk instants of a case opened at `start`, in the org's business hours."""
    first = policy.first_contact_hours or settings.default_sla_first_contact_hours
    # A rule may set only first contact above the org's default resolution: resolution is never earlier.
    resolution = max(first, policy.resolution_hours or settings.default_sla_resolution_hours)
    hours = settings.business_hours
    return DueTimes(
        first_contact_hours=first,
        resolution_hours=resolution,
        due_first_contact_at=add_business_hours(start, first, hours),
        due_resolution_at=add_business_hours(start, resolution, hours),
        at_risk_first_contact_at=add_business_hours(start, first * AT_RISK_SHARE, hours),
        at_risk_resolution_at=add_business_hours(start, resolution * AT_RISK_SHARE, hours),
    )


class SlaTimes(Protocol):
    """What the SLA state reads from a case."""

    due_first_contact_at: dt.datetime
    due_resolution_at: dt.datetime
    at_risk_first_contact_at: dt.datetime
    at_risk_resolution_at: dt.datetime
    first_contact_at: dt.datetime | None
    resolved_at: dt.datetime | None
    sla_paused_at: dt.datetime | None


def resume_resolution_clock(case: Case, now: dt.datetime, settings: LoopOrgSettings) -> float:
    """Unpause the resolution clock: due and at-risk instants not yet reached when it paused move back by the
    business hours spent waiting. Returns those hours (0 when the clock was not paused)."""
    paused = case.sla_paused_at
    if paused is None:
        return 0.0
    hours = settings.business_hours
    waited = business_hours_between(paused, now, hours)
    if case.due_resolution_at > paused:
        case.due_resolution_at = add_business_hours(case.due_resolution_at, waited, hours)
    if case.at_risk_resolution_at > paused:
        case.at_risk_resolution_at = add_business_hours(case.at_risk_resolution_at, waited, hours)
    case.sla_paused_at = None
    return waited


def _missed(stopped: dt.datetime | None, due: dt.datetime, now: dt.datetime) -> bool:
    return stopped > due if stopped is not None else now > due


def sla_state(case: SlaTimes, now: dt.datetime) -> SlaState:
    """`breached` if a clock missed its due time, else `at_risk` if a running one used 80 %, else `on_track`."""
    first_stop = case.first_contact_at or case.resolved_at
    resolution_now = case.sla_paused_at or now
    if _missed(first_stop, case.due_first_contact_at, now) or _missed(
        case.resolved_at, case.due_resolution_at, resolution_now
    ):
        return "breached"
    if first_stop is None and now >= case.at_risk_first_contact_at:
        return "at_risk"
    if case.resolved_at is None and resolution_now >= case.at_risk_resolution_at:
        return "at_risk"
    return "on_track"


def is_overdue(case: SlaTimes, now: dt.datetime) -> bool:
    """Whether a clock is running past its due time right now (something is late and still not done)."""
    first_running = case.first_contact_at is None and case.resolved_at is None
    return (first_running and now > case.due_first_contact_at) or (
        case.resolved_at is None and (case.sla_paused_at or now) > case.due_resolution_at
    )


def resolution_now(now: dt.datetime) -> ColumnElement[dt.datetime]:
    """SQL: the instant the resolution clock reads (when it paused, or now)."""
    return func.coalesce(col(Case.sla_paused_at), now)


def _sql_missed(stopped: Any, due: Any, now: Any) -> ColumnElement[bool]:
    return or_(and_(stopped.is_(None), due < now), and_(stopped.is_not(None), stopped > due))


def _first_running() -> ColumnElement[bool]:
    return and_(col(Case.first_contact_at).is_(None), col(Case.resolved_at).is_(None))


def breached_clause(now: dt.datetime) -> ColumnElement[bool]:
    """SQL: `sla_state(case, now) == "breached"`."""
    first_stop = func.coalesce(col(Case.first_contact_at), col(Case.resolved_at))
    return or_(
        _sql_missed(first_stop, col(Case.due_first_contact_at), now),
        _sql_missed(col(Case.resolved_at), col(Case.due_resolution_at), resolution_now(now)),
    )


def at_risk_clause(now: dt.datetime) -> ColumnElement[bool]:
    """SQL: `sla_state(case, now) == "at_risk"`."""
    risky = or_(
        and_(_first_running(), col(Case.at_risk_first_contact_at) <= now),
        and_(col(Case.resolved_at).is_(None), col(Case.at_risk_resolution_at) <= resolution_now(now)),
    )
    return and_(not_(breached_clause(now)), risky)


def sla_state_clause(state: SlaState, now: dt.datetime) -> ColumnElement[bool]:
    """SQL: the cases whose SLA state is `state` as of `now`."""
    if state == "breached":
        return breached_clause(now)
    if state == "at_risk":
        return at_risk_clause(now)
    return and_(not_(breached_clause(now)), not_(at_risk_clause(now)))


def overdue_clause(now: dt.datetime) -> ColumnElement[bool]:
    """SQL: `is_overdue(case, now)`."""
    return or_(
        and_(_first_running(), col(Case.due_first_contact_at) < now),
        and_(col(Case.resolved_at).is_(None), col(Case.due_resolution_at) < resolution_now(now)),
    )
