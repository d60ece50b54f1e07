"""`/v1/linkage`: value linkage — outcome rates, revenue and revenue at risk per NPS group (`metrics:read`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.metrics_api import linkage
from services.metrics_api.linkage import LinkageRequest
from services.metrics_api.period import BOUND_DESCRIPTION, MAX_DAYS
from services.metrics_api.routes.metrics import Reader
from services.metrics_api.routes.metrics import _attributes as attribute_filters
from services.metrics_api.schemas import OpaqueId
from services.metrics_api.schemas.linkage import LinkageAnswer, LinkedOutcome
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.schemas.common import UnitPath
from shared.strict_query import open_query

router = APIRouter(
    prefix="/v1/linkage",
    tags=["linkage"],
    responses=problem_responses(401, 403, 422),
    dependencies=[open_query("attr.")],
)


def linkage_request(
    request: Request,
    outcome: Annotated[LinkedOutcome, Query(description="The outcome whose rate is compared across NPS groups")],
    window_days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="An outcome counts up to this many days after the answer")
    ] = 365,
    unit: Annotated[UnitPath | None, Query(description="Only answers of this unit and the units below it")] = None,
    survey_id: Annotated[OpaqueId | None, Query(description="Only answers to this survey")] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description=BOUND_DESCRIPTION)] = None,
    to: Annotated[str | None, Query(max_length=40, description=BOUND_DESCRIPTION)] = None,
) -> LinkageRequest:
    """The query string of a linkage request (plus `attr.<key>=<value>` filters on the answers)."""
    return LinkageRequest(
        outcome=outcome,
        window_days=window_days,
        unit=unit,
        survey_id=survey_id,
        attrs=attribute_filters(request),
        raw_from=from_,
        raw_to=to,
    )


@router.get(
    "",
    response_model=LinkageAnswer,
    description=(
        "Each contact in scope is grouped by their latest NPS answer in the period (default: the last 365 days);"
        " an outcome counts when it happened after that answer and within `window_days`. Per group: contacts,"
        " those with the outcome, the rate with its Wilson interval, revenue total and mean; detractors against"
        " promoters with a two-proportion z test; revenue at risk. Filter the answers by attribute with"
        " `attr.<key>=<value>`."
    ),
)
async def get_linkage(
    principal: Reader, session: SessionDep, asked: Annotated[LinkageRequest, Depends(linkage_request)]
) -> dict[str, Any]:
    """Outcome rates, revenue and revenue at risk per NPS group."""
    return await linkage.linkage_answer(session=session, principal=principal, asked=asked)
