"""What metrics_api knows of an org's surveys: their audience, purpose and scored questions, from the rollups.

metrics_api holds no survey table: it learns a survey when its first scored answer arrives (the root unit's
month rows of the question rollup name every survey, question and kind ever answered, in a few rows per
month). So a survey nobody has answered yet is unknown here, and its questions cannot be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, not_, true
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.queries import Filters
from services.metrics_api.rollups import QUESTION_TABLE
from services.metrics_api.sql import one_of
from shared.errors import FieldError, Unprocessable

MAX_LISTED = 50  # question keys named in a 422 (an org-wide list can be long)


@dataclass
class SurveyInfo:
    """A survey as its answers show it: audience, purpose, and the kind of each scored question key."""

    audience: str
    purpose: str
    questions: dict[str, str] = field(default_factory=dict)


async def survey_catalog(session: AsyncSession, org: str) -> dict[str, SurveyInfo]:
    """Every survey of `org` with a scored answer, by id."""
    t = QUESTION_TABLE.c
    columns: list[Any] = [t.survey_id, t.audience, t.purpose, t.question, t.kind]
    query = select(*columns).where(t.org == org, t.unit == "", t.grain == "m").distinct()
    catalog: dict[str, SurveyInfo] = {}
    for survey_id, audience, purpose, question, kind in (await session.exec(query)).all():
        catalog.setdefault(survey_id, SurveyInfo(audience, purpose)).questions[question] = kind
    return catalog


def _refuse(field_name: str, message: str, code: str) -> Unprocessable:
    return Unprocessable(message, errors=[FieldError(field=field_name, message=message, code=code)])


def check_request(catalog: dict[str, SurveyInfo], metric: str, filters: Filters) -> None:
    """422 for a survey of another audience, or a question key the survey (or the audience's surveys) lacks."""
    survey = catalog.get(filters.survey_id) if filters.survey_id else None
    if survey is not None and survey.audience != filters.audience:
        message = f"survey {filters.survey_id!r} asks {survey.audience}: add audience={survey.audience}"
        raise _refuse("audience", message, "other_audience")
    if filters.question is None or metric == "response_rate" or (filters.survey_id and survey is None):
        return  # no question named, or a survey nobody has answered yet: nothing to hold the key against
    surveys = [survey] if survey is not None else [s for s in catalog.values() if s.audience == filters.audience]
    known: dict[str, set[str]] = {}
    for info in surveys:
        for key, kind in info.questions.items():
            known.setdefault(key, set()).add(kind)
    if not known:
        return  # nothing answered yet: no list of questions to hold the key against
    kinds = known.get(filters.question)
    listed = ", ".join(f"{key} ({'/'.join(sorted(known[key]))})" for key in sorted(known)[:MAX_LISTED])
    listed += ", …" if len(known) > MAX_LISTED else ""
    where = f"survey {filters.survey_id!r}" if survey is not None else f"the {filters.audience} surveys"
    if kinds is None:
        message = f"unknown question {filters.question!r}; the scored questions of {where}: {listed}"
        raise _refuse("question", message, "unknown_question")
    if metric not in kinds:
        shown = "/".join(sorted(kinds))
        message = f"question {filters.question!r} is a {shown} question: ask /v1/metrics/{sorted(kinds)[0]}"
        raise _refuse("question", message, "other_kind")


def invitation_population(catalog: dict[str, SurveyInfo], filters: Filters, column: object) -> ColumnElement[bool]:
    """SQL on invitations' `survey_id`: the surveys of the audience asked for, follow-ups only when named.

    Invitations do not carry their survey's audience: a survey is placed by what its answers said; one never
    answered yet counts as a customer survey.
    """
    if filters.survey_id is not None:
        return true()
    wanted = (filters.audience, "standard")
    if filters.audience == "customers":
        others = sorted(sid for sid, info in catalog.items() if (info.audience, info.purpose) != wanted)
        return not_(one_of(column, others)) if others else true()
    return one_of(column, sorted(sid for sid, info in catalog.items() if (info.audience, info.purpose) == wanted))
