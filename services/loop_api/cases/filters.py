"""The filters of `GET /v1/cases`, applied as SQL (the SLA ones as of the request's instant)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from sqlalchemy import Select, not_
from sqlmodel import col

from services.loop_api.cases.schemas import SlaState, Status
from services.loop_api.cases.sla import overdue_clause, sla_state_clause
from services.loop_api.models import Case
from services.loop_api.rules.schemas import Priority
from shared.auth import Principal
from shared.db import in_subtrees
from shared.schemas.common import UnitPath

S = TypeVar("S", bound=Select[Any])
Id = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True)
class CaseFilters:
    """Which cases: each field narrows the list when set."""

    status: str | None = None
    owner: str | None = None
    team: str | None = None
    unassigned: bool | None = None
    unit: str | None = None
    priority: str | None = None
    sla_state: str | None = None
    overdue: bool | None = None
    response_id: str | None = None
    contact_id: str | None = None
    survey_id: str | None = None


def case_filters(
    status: Status | None = None,
    owner: Annotated[str | None, Query(max_length=255, description="Cases owned by this user id")] = None,
    team: Id = None,
    unassigned: Annotated[bool | None, Query(description="true: cases without an owner")] = None,
    unit: Annotated[UnitPath | None, Query(description="This unit and its subtree")] = None,
    priority: Priority | None = None,
    sla_state: Annotated[SlaState | None, Query(description="As of now")] = None,
    overdue: Annotated[bool | None, Query(description="A due time has passed and is still not met")] = None,
    response_id: Id = None,
    contact_id: Id = None,
    survey_id: Id = None,
) -> CaseFilters:
    """The case filters of a query string (a FastAPI dependency)."""
    return CaseFilters(
        status, owner, team, unassigned, unit, priority, sla_state, overdue, response_id, contact_id, survey_id
    )


CaseFiltersDep = Annotated[CaseFilters, Depends(case_filters)]


def visible(statement: S, principal: Principal) -> S:
    """Restrict `statement` over cases to the caller's org and units."""
    statement = statement.where(col(Case.org) == principal.org)
    if principal.units is not None:
        statement = statement.where(in_subtrees(col(Case.unit), principal.units))
    return statement


def filtered(statement: S, *, principal: Principal, filters: CaseFilters, now: dt.datetime) -> S:
    """Restrict `statement` over cases to the caller's org and units and to `filters`."""
    statement = visible(statement, principal)
    equal = {
        Case.status: filters.status,
        Case.owner: filters.owner,
        Case.team_id: filters.team,
        Case.priority: filters.priority,
        Case.response_id: filters.response_id,
        Case.contact_id: filters.contact_id,
        Case.survey_id: filters.survey_id,
    }
    for column, value in equal.items():
        if value is not None:
            statement = statement.where(col(column) == value)
    if filters.unassigned is not None:
        owner = col(Case.owner)
        statement = statement.where(owner.is_(None) if filters.unassigned else owner.is_not(None))
    if filters.unit is not None:
        statement = statement.where(in_subtrees(col(Case.unit), [filters.unit]))
    if filters.sla_state is not None:
        statement = statement.where(sla_state_clause(filters.sla_state, now))  # type: ignore[arg-type]
    if filters.overdue is not None:
        statement = statement.where(overdue_clause(now) if filters.overdue else not_(overdue_clause(now)))
    return statement
