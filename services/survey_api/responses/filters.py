"""The filters that listing and exporting responses share, applied as SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from sqlalchemy import Select
from sqlmodel import col

from services.survey_api.responses.models import SurveyResponse
from shared.auth import Principal
from shared.db import in_subtrees
from shared.errors import invalid
from shared.schemas.common import Instant, UnitPath

S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class ResponseFilters:
    """Which responses: of a survey, submitted in [from, to), in a unit subtree, of a contact, finished or not."""

    survey_id: str | None = None
    submitted_from: dt.datetime | None = None
    submitted_to: dt.datetime | None = None
    unit: str | None = None
    contact_id: str | None = None
    finished: bool | None = None


def response_filters(
    survey_id: Annotated[str | None, Query(max_length=40)] = None,
    submitted_from: Annotated[Instant | None, Query(alias="from", description="Inclusive, with offset")] = None,
    submitted_to: Annotated[Instant | None, Query(alias="to", description="Exclusive, with offset")] = None,
    unit: Annotated[UnitPath | None, Query(description="This unit and its subtree")] = None,
    contact_id: Annotated[str | None, Query(max_length=40)] = None,
    finished: bool | None = None,
) -> ResponseFilters:
    """The response filters of a query string (a FastAPI dependency)."""
    if submitted_from and submitted_to and submitted_from >= submitted_to:
        raise invalid("to", "must be after `from`", "empty_range")
    return ResponseFilters(survey_id, submitted_from, submitted_to, unit, contact_id, finished)


ResponseFiltersDep = Annotated[ResponseFilters, Depends(response_filters)]


def filtered(statement: S, *, principal: Principal, filters: ResponseFilters) -> S:
    """Restrict `statement` over responses to the caller's org and units and to `filters`."""
    statement = statement.where(col(SurveyResponse.org) == principal.org)
    if principal.units is not None:
        statement = statement.where(in_subtrees(col(SurveyResponse.unit), principal.units))
    conditions = {
        SurveyResponse.survey_id: filters.survey_id,
        SurveyResponse.contact_id: filters.contact_id,
        SurveyResponse.finished: filters.finished,
    }
    for column, value in conditions.items():
        if value is not None:
            statement = statement.where(col(column) == value)
    if filters.submitted_from is not None:
        statement = statement.where(col(SurveyResponse.submitted_at) >= filters.submitted_from)
    if filters.submitted_to is not None:
        statement = statement.where(col(SurveyResponse.submitted_at) < filters.submitted_to)
    if filters.unit is not None:
        statement = statement.where(in_subtrees(col(SurveyResponse.unit), [filters.unit]))
    return statement
