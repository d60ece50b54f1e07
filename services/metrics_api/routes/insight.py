"""`/v1/drivers` and `/v1/reasons`: why a score is what it is, and what each problem costs (`metrics:read`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from services.metrics_api import drivers, reason_impact
from services.metrics_api.reason_labels import add_labels
from services.metrics_api.routes.metrics import Asked
from services.metrics_api.schemas import QuestionKey
from services.metrics_api.schemas.insight import DriversAnswer, ReasonsAnswer
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.strict_query import open_query

router = APIRouter(
    prefix="/v1",
    tags=["insight"],
    responses=problem_responses(401, 403, 422),
    dependencies=[open_query("attr.")],
)
Reader = Annotated[Principal, Depends(require_scopes("metrics:read"))]
FILTERS_DOC = (
    " `survey_id` is required; the filters of the metrics endpoints apply (unit, from, to, channel,"
    " touchpoint_id, attr.<key>, audience: employees' answers are anonymous); group_by, interval, compare,"
    " include, target and depth do not."
)


@router.get(
    "/drivers",
    response_model=DriversAnswer,
    response_model_exclude_unset=True,
    description="Key drivers: Johnson's relative weights of the survey's rated attributes (rating, CSAT, CES,"
    " success as no 0 / partly 1 / yes 2, emotion 1-5) on"
    " the outcome, in % of R², with bootstrap intervals, correlations, means, top-2-box and the priority quadrant;"
    " over the responses that answered the outcome and every attribute. Below n = 50 + 8·m: correlations only."
    + FILTERS_DOC,
)
async def get_drivers(
    principal: Reader,
    session: SessionDep,
    asked: Asked,
    outcome: Annotated[
        QuestionKey,
        Query(
            description="`nps`, `success` or `emotion` (the survey's most answered question of that kind), or a"
            " CSAT/rating/CES/success/emotion question key"
        ),
    ] = "nps",
) -> dict[str, Any]:
    """Key drivers of an outcome (NPS or a question's score) among the survey's rated attributes."""
    return await drivers.drivers_answer(session=session, principal=principal, outcome=outcome, request=asked)


@router.get(
    "/reasons",
    response_model=ReasonsAnswer,
    response_model_exclude_unset=True,
    description="Reason impact (NPS+): for each reason code of a `reasons` question, count, share, NPS with and"
    " without it and the NPS points it costs (points_lost), most costly first. `question` names the reasons"
    " question. Served from rollups unless a channel, touchpoint or attribute filter or a datetime bound needs"
    " the facts. Labels come from survey_api in the first `Accept-Language` the survey has (else its default"
    ' language); when survey_api does not answer, codes only and `degraded: ["labels"]`.' + FILTERS_DOC,
)
async def get_reasons(
    request: Request,
    principal: Reader,
    session: SessionDep,
    asked: Asked,
    accept_language: Annotated[str | None, Header(max_length=500)] = None,
) -> dict[str, Any]:
    """Reason impact (NPS+): the NPS points each cited reason costs."""
    answer = await reason_impact.reasons_answer(session=session, principal=principal, request=asked)
    labels = request.app.state.reason_labels
    return await add_labels(answer, labels=labels, principal=principal, accept_language=accept_language)
