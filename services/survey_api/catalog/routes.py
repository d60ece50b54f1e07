"""`/v1/surveys`: surveys, their publishing lifecycle and their frozen versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.survey_api.catalog import publishing, surveys, touchpoints, units
from services.survey_api.catalog.schemas import (
    Audience,
    JourneyLabel,
    SurveyCreate,
    SurveyKind,
    SurveyPublic,
    SurveyStatus,
    SurveyUpdate,
    SurveyVersionPublic,
    TouchpointCreate,
    TouchpointId,
    TouchpointPublic,
    TouchpointStatus,
    TouchpointUpdate,
    UnitCreate,
    UnitPublic,
)
from services.survey_api.scopes import SurveyReader, SurveyWriter
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.schemas.common import UnitPath

surveys_router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/surveys", tags=["surveys"], responses=problem_responses(401, 403, 422)
)
VersionNumber = Annotated[int, Path(ge=1, description="A published version number")]


@surveys_router.post("", status_code=201, response_model=SurveyPublic, responses=problem_responses(409))
async def create_survey(data: SurveyCreate, principal: SurveyWriter, session: IdempotentSession) -> SurveyPublic:
    """Create a draft survey (scope `surveys:write`); 422 lists each structural problem."""
    survey = await surveys.create_survey(session=session, principal=principal, data=data)
    return surveys.public_survey(survey)


@surveys_router.get("", response_model=Page[SurveyPublic])
async def list_surveys(
    principal: SurveyReader,
    session: SessionDep,
    status: Annotated[SurveyStatus | None, Query(description="Only surveys in this status")] = None,
    kind: Annotated[SurveyKind | None, Query(description="Only surveys of this kind")] = None,
    touchpoint_id: Annotated[TouchpointId | None, Query(description="Only surveys of this touchpoint")] = None,
    audience: Annotated[Audience | None, Query(description="Only surveys of this audience")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[SurveyPublic]:
    """The org's surveys in creation order, a page at a time (scope `surveys:read`)."""
    items, next_cursor = await surveys.list_surveys(
        session=session,
        principal=principal,
        status=status,
        kind=kind,
        touchpoint_id=touchpoint_id,
        audience=audience,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[surveys.public_survey(s) for s in items], next_cursor=next_cursor)


@surveys_router.get("/{survey_id}", response_model=SurveyPublic, responses=problem_responses(404))
async def get_survey(survey_id: str, principal: SurveyReader, session: SessionDep) -> SurveyPublic:
    """One survey's working copy and where its versions stand (scope `surveys:read`)."""
    return surveys.public_survey(await surveys.get_survey(session=session, principal=principal, survey_id=survey_id))


@surveys_router.patch("/{survey_id}", response_model=SurveyPublic, responses=problem_responses(404))
async def update_survey(
    survey_id: str, data: SurveyUpdate, principal: SurveyWriter, session: SessionDep
) -> SurveyPublic:
    """Edit the working copy (scope `surveys:write`); editing a published survey starts its next version."""
    survey = await surveys.update_survey(session=session, principal=principal, survey_id=survey_id, data=data)
    return surveys.public_survey(survey)


@surveys_router.post("/{survey_id}/publish", response_model=SurveyPublic, responses=problem_responses(404, 409))
async def publish_survey(survey_id: str, principal: SurveyWriter, session: SessionDep) -> SurveyPublic:
    """Publish the working copy as a new version, or reopen a closed survey (scope `surveys:write`).

    422 lists every problem (missing translations, bad `show_if`); 409 when there is nothing to publish.
    """
    survey = await publishing.publish_survey(session=session, principal=principal, survey_id=survey_id)
    return surveys.public_survey(survey)


@surveys_router.post("/{survey_id}/close", response_model=SurveyPublic, responses=problem_responses(404, 409))
async def close_survey(survey_id: str, principal: SurveyWriter, session: SessionDep) -> SurveyPublic:
    """Stop an active survey taking responses (scope `surveys:write`); publish reopens it."""
    survey = await publishing.close_survey(session=session, principal=principal, survey_id=survey_id)
    return surveys.public_survey(survey)


@surveys_router.get("/{survey_id}/versions", response_model=Page[SurveyVersionPublic], responses=problem_responses(404))
async def list_survey_versions(
    survey_id: str, principal: SurveyReader, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[SurveyVersionPublic]:
    """A survey's published versions, oldest first, a page at a time (scope `surveys:read`)."""
    items, next_cursor = await publishing.list_versions(
        session=session, principal=principal, survey_id=survey_id, limit=limit, cursor=cursor
    )
    return Page(items=[SurveyVersionPublic.model_validate(v) for v in items], next_cursor=next_cursor)


@surveys_router.get(
    "/{survey_id}/versions/{version}", response_model=SurveyVersionPublic, responses=problem_responses(404)
)
async def get_survey_version(
    survey_id: str, version: VersionNumber, principal: SurveyReader, session: SessionDep
) -> SurveyVersionPublic:
    """One published version, frozen as respondents answered it (scope `surveys:read`)."""
    frozen = await publishing.get_version(session=session, principal=principal, survey_id=survey_id, version=version)
    return SurveyVersionPublic.model_validate(frozen)


units_router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/units", tags=["units"], responses=problem_responses(401, 403, 422)
)


@units_router.post("", status_code=201, response_model=UnitPublic, responses=problem_responses(409))
async def create_unit(data: UnitCreate, principal: SurveyWriter, session: IdempotentSession) -> UnitPublic:
    """Create a unit of the hierarchy (its parent must exist)."""
    unit = await units.create_unit(session=session, principal=principal, data=data)
    return UnitPublic.model_validate(unit)


@units_router.get("", response_model=Page[UnitPublic])
async def list_units(
    principal: SurveyReader,
    session: SessionDep,
    under: Annotated[UnitPath | None, Query(description="Only this unit and its subtree")] = None,
    parent: Annotated[UnitPath | None, Query(description="Only the direct children of this unit")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[UnitPublic]:
    """The org's units in creation order, a page at a time."""
    items, next_cursor = await units.list_units(
        session=session, principal=principal, under=under, parent=parent, limit=limit, cursor=cursor
    )
    return Page(items=[UnitPublic.model_validate(u) for u in items], next_cursor=next_cursor)


@units_router.get("/{unit_id}", response_model=UnitPublic, responses=problem_responses(404))
async def get_unit(unit_id: str, principal: SurveyReader, session: SessionDep) -> UnitPublic:
    """One unit."""
    return UnitPublic.model_validate(await units.get_unit(session=session, principal=principal, unit_id=unit_id))


touchpoints_router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1/touchpoints",
    tags=["touchpoints"],
    responses=problem_responses(401, 403, 422),
)


@touchpoints_router.post("", status_code=201, response_model=TouchpointPublic, responses=problem_responses(409))
async def create_touchpoint(
    data: TouchpointCreate, principal: SurveyWriter, session: IdempotentSession
) -> TouchpointPublic:
    """Add a touchpoint to a journey (scope `surveys:write`); 409 if the journey has one of that name."""
    touchpoint = await touchpoints.create_touchpoint(session=session, principal=principal, data=data)
    return TouchpointPublic.model_validate(touchpoint)


@touchpoints_router.get("", response_model=Page[TouchpointPublic])
async def list_touchpoints(
    principal: SurveyReader,
    session: SessionDep,
    journey: Annotated[JourneyLabel | None, Query(description="Only touchpoints of this journey")] = None,
    stage: Annotated[JourneyLabel | None, Query(description="Only touchpoints of this stage")] = None,
    status: Annotated[TouchpointStatus | None, Query(description="Only active or only retired touchpoints")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[TouchpointPublic]:
    """The org's touchpoints in creation order, a page at a time (scope `surveys:read`)."""
    items, next_cursor = await touchpoints.list_touchpoints(
        session=session,
        principal=principal,
        journey=journey,
        stage=stage,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[TouchpointPublic.model_validate(t) for t in items], next_cursor=next_cursor)


@touchpoints_router.get("/{touchpoint_id}", response_model=TouchpointPublic, responses=problem_responses(404))
async def get_touchpoint(touchpoint_id: str, principal: SurveyReader, session: SessionDep) -> TouchpointPublic:
    """One touchpoint (scope `surveys:read`)."""
    touchpoint = await touchpoints.get_touchpoint(session=session, principal=principal, touchpoint_id=touchpoint_id)
    return TouchpointPublic.model_validate(touchpoint)


@touchpoints_router.patch("/{touchpoint_id}", response_model=TouchpointPublic, responses=problem_responses(404, 409))
async def update_touchpoint(
    touchpoint_id: str, data: TouchpointUpdate, principal: SurveyWriter, session: SessionDep
) -> TouchpointPublic:
    """Rename, move, order the stage of, or retire a touchpoint (scope `surveys:write`); 409 on a taken name.

    A retired touchpoint keeps its surveys and their history; a new survey cannot use it (422).
    """
    touchpoint = await touchpoints.update_touchpoint(
        session=session, principal=principal, touchpoint_id=touchpoint_id, data=data
    )
    return TouchpointPublic.model_validate(touchpoint)


router = APIRouter()
"""The catalog's routes: `/v1/units`, `/v1/touchpoints`, `/v1/surveys`."""
for _part in (units_router, touchpoints_router, surveys_router):
    router.include_router(_part)
