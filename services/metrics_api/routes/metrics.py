"""`/v1/metrics/{nps|csat|ces|rating|success|emotion|response_rate}`: a metric with its uncertainty (`metrics:read`)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from services.metrics_api import metrics
from services.metrics_api.figures import DEFAULT_PARTLY_WEIGHT
from services.metrics_api.metrics import MetricRequest
from services.metrics_api.period import BOUND_DESCRIPTION
from services.metrics_api.queries import Filters
from services.metrics_api.schemas import (
    Audience,
    CesAnswer,
    CsatAnswer,
    EmotionAnswer,
    NpsAnswer,
    OpaqueId,
    QuestionKey,
    RateAnswer,
    RatingAnswer,
    SuccessAnswer,
)
from services.metrics_api.themes.schemas import ThemeCode
from services.metrics_api.to_target import Goal
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import invalid, problem_responses
from shared.schemas.common import Channel, UnitPath
from shared.strict_query import open_query

router = APIRouter(
    prefix="/v1/metrics",
    tags=["metrics"],
    responses=problem_responses(401, 403, 422),
    dependencies=[open_query("attr.")],
)
Reader = Annotated[Principal, Depends(require_scopes("metrics:read"))]

ATTR_KEY = r"[a-z][a-z0-9_]{0,39}"
ATTR_PARAM = re.compile(rf"^attr\.({ATTR_KEY})$")
MAX_ATTR_VALUE = 500
GROUP_PATTERN = rf"^(unit|touchpoint|journey|stage|channel|survey|attr\.{ATTR_KEY})$"
COMPARE_PATTERN = rf"^(previous|attr\.{ATTR_KEY}:[^,:]{{1,{MAX_ATTR_VALUE}}},[^,:]{{1,{MAX_ATTR_VALUE}}})$"
TARGET_DOC = (
    "nps, csat, rating, success, emotion: `to_target` says how many answers must move to reach this value"
    " (default: the scope's saved target)"
)
DEPTH_DOC = (
    "With group_by=unit: rank every unit at this depth of the tree (3: emea/de/berlin-01), with rank, percentile"
    " and a test against the rest of the scope"
)
FILTERS_DOC = (
    " Filter by attribute with `attr.<key>=<value>` (one parameter per key; repeat a key for any of its values)."
    " Answers come from rollups unless a channel, touchpoint, attribute or theme is involved or the period is"
    " bounded by datetimes."
)


def _attributes(request: Request) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The `attr.<key>=<value>` parameters, as (key, values) pairs."""
    found: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        if not name.startswith("attr."):
            continue
        match = ATTR_PARAM.match(name)
        if match is None:
            raise invalid(name, f"attribute keys match ^{ATTR_KEY}$", "invalid_attribute")
        if not 0 < len(value) <= MAX_ATTR_VALUE:
            raise invalid(name, f"values hold 1 to {MAX_ATTR_VALUE} characters", "invalid_attribute")
        found.setdefault(match.group(1), []).append(value)
    return tuple((key, tuple(dict.fromkeys(values))) for key, values in sorted(found.items()))


def _metric_query(
    request: Request,
    survey_id: Annotated[
        OpaqueId | None, Query(description="Only answers to this survey (follow-up surveys too, when named)")
    ] = None,
    audience: Annotated[
        Audience,
        Query(description="Whose answers: customers, or employees (anonymous: no counts below the minimum sample)"),
    ] = "customers",
    touchpoint_id: Annotated[OpaqueId | None, Query(description="Only answers at this touchpoint")] = None,
    unit: Annotated[UnitPath | None, Query(description="Only this unit and the units below it")] = None,
    channel: Annotated[Channel | None, Query(description="Only answers given through this channel")] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description=BOUND_DESCRIPTION)] = None,
    to: Annotated[str | None, Query(max_length=40, description=BOUND_DESCRIPTION)] = None,
    group_by: Annotated[
        str | None,
        Query(
            pattern=GROUP_PATTERN,
            description="`unit` (the children of `unit`), touchpoint, journey, stage (in the org's order), channel,"
            " survey, attr.<key>; each group has a human `label`",
        ),
    ] = None,
    interval: Annotated[
        Literal["day", "week", "month"] | None, Query(description="Buckets in the org's time zone (weeks start Monday)")
    ] = None,
    compare: Annotated[
        str | None, Query(pattern=COMPARE_PATTERN, description="`previous` (period) or `attr.<key>:<a>,<b>` (segments)")
    ] = None,
    include: Annotated[
        str | None, Query(pattern=r"^(target|benchmark)(,(target|benchmark))?$", description="target, benchmark")
    ] = None,
    target: Annotated[float | None, Query(description=TARGET_DOC, ge=-100, le=100)] = None,
    target_on: Annotated[
        Literal["value", "top_box"] | None, Query(description="csat, rating: value or top_box")
    ] = None,
    depth: Annotated[int | None, Query(ge=1, le=20, description=DEPTH_DOC)] = None,
    theme: Annotated[
        ThemeCode | None, Query(description="Only responses whose comment carries this theme (a codebook code)")
    ] = None,
) -> MetricRequest:
    """The query string of a metrics request (but `question`)."""
    filters = Filters(survey_id, None, touchpoint_id, channel, _attributes(request), audience, theme=theme)
    return MetricRequest(
        filters=filters,
        unit=unit,
        raw_from=from_,
        raw_to=to,
        group_by=group_by,
        interval=interval,
        compare=compare,
        include=frozenset(include.split(",")) if include else frozenset(),
        goal=Goal(target, target_on),
        depth=depth,
        catalog=getattr(request.app.state, "survey_catalog", None),
    )


def metric_request(
    common: Annotated[MetricRequest, Depends(_metric_query)],
    question: Annotated[QuestionKey | None, Query(description="Only answers to the question with this key")] = None,
) -> MetricRequest:
    """The query string of a metrics request."""
    return replace(common, filters=replace(common.filters, question=question))


def rating_request(
    common: Annotated[MetricRequest, Depends(_metric_query)],
    question: Annotated[QuestionKey, Query(description="The rating question's key (required)")],
) -> MetricRequest:
    """The query string of a rating request: its question is required."""
    return replace(common, filters=replace(common.filters, question=question))


Asked = Annotated[MetricRequest, Depends(metric_request)]
AskedRating = Annotated[MetricRequest, Depends(rating_request)]


def _doc(summary: str) -> str:
    return summary + FILTERS_DOC


@router.get(
    "/nps",
    response_model=NpsAnswer,
    response_model_exclude_unset=True,
    description=_doc(
        "NPS (promoters 9-10 minus detractors 0-6, in percent) with counts, MoE and the adjusted-Wald interval."
    ),
)
async def get_nps(principal: Reader, session: SessionDep, asked: Asked) -> dict[str, Any]:
    """NPS (promoters 9-10 minus detractors 0-6, in percent) with counts, MoE and the adjusted-Wald interval."""
    return await metrics.metric_answer(session=session, principal=principal, metric="nps", request=asked)


@router.get(
    "/csat",
    response_model=CsatAnswer,
    response_model_exclude_unset=True,
    description=_doc("CSAT: percent satisfied (top-2-box) with its Wilson interval, the mean, top box and histogram."),
)
async def get_csat(principal: Reader, session: SessionDep, asked: Asked) -> dict[str, Any]:
    """CSAT: percent satisfied (top-2-box) with its Wilson interval, the mean, top box and histogram."""
    return await metrics.metric_answer(session=session, principal=principal, metric="csat", request=asked)


@router.get(
    "/ces",
    response_model=CesAnswer,
    response_model_exclude_unset=True,
    description=_doc(
        "CES: the mean score with its t interval, percent easy (the points above the scale's midpoint: 5-7 of 1-7,"
        " 4-5 of 1-5) and histogram."
    ),
)
async def get_ces(principal: Reader, session: SessionDep, asked: Asked) -> dict[str, Any]:
    """CES: the mean score with its t interval, percent easy (points above the scale's midpoint) and histogram."""
    return await metrics.metric_answer(session=session, principal=principal, metric="ces", request=asked)


@router.get(
    "/rating",
    response_model=RatingAnswer,
    response_model_exclude_unset=True,
    description=_doc(
        "A rating question (`question` required): the mean score with its t interval, top box and top-2-box"
        " percentages and histogram."
    ),
)
async def get_rating(principal: Reader, session: SessionDep, asked: AskedRating) -> dict[str, Any]:
    """A rating question: the mean score with its t interval, top box and top-2-box percentages and histogram."""
    return await metrics.metric_answer(session=session, principal=principal, metric="rating", request=asked)


PARTLY_WEIGHT_DOC = (
    "What a `partly` answer counts for in the success rate, 0..1 (default 0.5): 0 counts only yes, 1 counts partly"
    " as yes"
)


@router.get(
    "/success",
    response_model=SuccessAnswer,
    response_model_exclude_unset=True,
    description=_doc(
        "Success: 100·(yes + w·partly)/n with w = `partly_weight` (default 0.5), the counts and shares of yes, partly"
        " and no; the Wilson interval when w is 0 or 1, else the t interval of the per-response scores 1 / w / 0."
    ),
)
async def get_success(
    principal: Reader,
    session: SessionDep,
    asked: Asked,
    partly_weight: Annotated[float, Query(ge=0, le=1, description=PARTLY_WEIGHT_DOC)] = DEFAULT_PARTLY_WEIGHT,
) -> dict[str, Any]:
    """Success rate: yes plus a weighted partly over all success answers, with counts and interval."""
    asked = replace(asked, partly_weight=partly_weight)
    return await metrics.metric_answer(session=session, principal=principal, metric="success", request=asked)


@router.get(
    "/emotion",
    response_model=EmotionAnswer,
    response_model_exclude_unset=True,
    description=_doc(
        "Emotion (1 very negative … 5 very positive): the mean score with its t interval, percent positive (4-5),"
        " percent negative (1-2) and histogram."
    ),
)
async def get_emotion(principal: Reader, session: SessionDep, asked: Asked) -> dict[str, Any]:
    """Emotion: the mean score with its t interval, percent positive (4-5) and negative (1-2), histogram."""
    return await metrics.metric_answer(session=session, principal=principal, metric="emotion", request=asked)


@router.get(
    "/response_rate",
    response_model=RateAnswer,
    response_model_exclude_unset=True,
    description=_doc(
        "Invitations completed over invitations delivered, by the day they were sent, with its Wilson interval."
    ),
)
async def get_response_rate(principal: Reader, session: SessionDep, asked: Asked) -> dict[str, Any]:
    """Invitations completed over invitations delivered, by the day they were sent, with its Wilson interval."""
    return await metrics.metric_answer(session=session, principal=principal, metric="response_rate", request=asked)
