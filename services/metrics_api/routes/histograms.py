"""`GET /internal/v1/histograms`: a metric's counts per score on a scope and range of days, for services only.

Callers name the org (a service token carries no tenant); like `/internal/v1/events`, tenant tokens get 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from services.metrics_api import histograms
from services.metrics_api.histograms import HistogramAnswer
from services.metrics_api.schemas import OpaqueId
from shared.auth import current_service
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.schemas.common import UnitPath

router = APIRouter(prefix="/internal/v1", tags=["internal"], responses=problem_responses(401, 403, 422))
ServiceCaller = Depends(current_service)


@router.get("/histograms", response_model=HistogramAnswer, dependencies=[ServiceCaller])
async def get_histograms(
    session: SessionDep,
    org: Annotated[str, Query(min_length=1, max_length=100, description="The tenant whose answers to count")],
    metric: Annotated[Literal["nps", "csat", "ces"], Query(description="Which scored answers")],
    start: Annotated[dt.date, Query(alias="from", description="First day (inclusive, the org's time zone)")],
    end: Annotated[dt.date, Query(alias="to", description="Last day (inclusive)")],
    unit: Annotated[
        list[UnitPath] | None, Query(max_length=50, description="Unit subtrees to add up (repeat; none: the org)")
    ] = None,
    touchpoint_id: Annotated[
        list[OpaqueId] | None, Query(max_length=50, description="Only these touchpoints (repeat; none: all)")
    ] = None,
    survey_id: Annotated[OpaqueId | None, Query(description="Only answers to this survey")] = None,
) -> HistogramAnswer:
    """Counts per score (0..10, per scale) of a metric's answers in the unit subtrees and touchpoints over the days.

    From the rollups when no touchpoint is named; from one aggregate over the facts per touchpoint otherwise.
    Also the org's minimum sample and time zone, so a caller can compute figures and their uncertainty.
    """
    return await histograms.histograms(
        session=session,
        org=org,
        metric=metric,
        units=list(dict.fromkeys(unit or [])),
        touchpoint_ids=list(dict.fromkeys(touchpoint_id or [])),
        survey_id=survey_id,
        start=start,
        end=end,
    )
