"""`/v1/surveys`: surveys, their publishing lifecycle and their frozen versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api import survey_publish, surveys
from services.survey_api.schemas.surveys import (
    Audience,
    SurveyCreate,
    SurveyKind,
    SurveyPublic,
    SurveyStatus,
    SurveyUpdate,
    SurveyVersionPublic,
    TouchpointId,
)
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotencyDep, IdempotencyKeyHeader
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/v1/surveys", tags=["surveys"], responses=problem_responses(401, 403, 422))
Reader = Annotated[Principal, Depends(require_scopes("surveys:read"))]
Writer = Annotated[Principal, Depends(require_scopes("surveys:write"))]
VersionNumber = Annotated[int, Path(ge=1, description="A published version number")]


@router.post("", status_code=201, response_model=SurveyPublic, responses=problem_responses(409))
async def create_survey(
    data: SurveyCreate,
    request: Request,
    principal: Writer,
    idempotency: IdempotencyDep,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Create a draft survey (scope `surveys:write`); 422 lists each structural problem."""

    async def create(session: AsyncSession) -> SurveyPublic:
        survey = await surveys.create_survey(session=session, principal=principal, data=data)
        return surveys.public_survey(survey)

    return await idempotency.run(request=request, principal=principal, key=key, payload=data, create=create)


@router.get("", response_model=Page[SurveyPublic])
async def list_surveys(
    principal: Reader,
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


@router.get("/{survey_id}", response_model=SurveyPublic, responses=problem_responses(404))
async def get_survey(survey_id: str, principal: Reader, session: SessionDep) -> SurveyPublic:
    """One survey's working copy and where its versions stand (scope `surveys:read`)."""
    return surveys.public_survey(await surveys.get_survey(session=session, principal=principal, survey_id=survey_id))


@router.patch("/{survey_id}", response_model=SurveyPublic, responses=problem_responses(404))
async def update_survey(survey_id: str, data: SurveyUpdate, principal: Writer, session: SessionDep) -> SurveyPublic:
    """Edit the working copy (scope `surveys:write`); editing a published survey starts its next version."""
    survey = await surveys.update_survey(session=session, principal=principal, survey_id=survey_id, data=data)
    return surveys.public_survey(survey)


@router.post("/{survey_id}/publish", response_model=SurveyPublic, responses=problem_responses(404, 409))
async def publish_survey(survey_id: str, principal: Writer, session: SessionDep) -> SurveyPublic:
    """Publish the working copy as a new version, or reopen a closed survey (scope `surveys:write`).

    422 lists every problem (missing translations, bad `show_if`); 409 when there is nothing to publish.
    """
    survey = await survey_publish.publish_survey(session=session, principal=principal, survey_id=survey_id)
    return surveys.public_survey(survey)


@router.post("/{survey_id}/close", response_model=SurveyPublic, responses=problem_responses(404, 409))
async def close_survey(survey_id: str, principal: Writer, session: SessionDep) -> SurveyPublic:
    """Stop an active survey taking responses (scope `surveys:write`); publish reopens it."""
    survey = await survey_publish.close_survey(session=session, principal=principal, survey_id=survey_id)
    return surveys.public_survey(survey)


@router.get("/{survey_id}/versions", response_model=Page[SurveyVersionPublic], responses=problem_responses(404))
async def list_survey_versions(
    survey_id: str, principal: Reader, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[SurveyVersionPublic]:
    """A survey's published versions, oldest first, a page at a time (scope `surveys:read`)."""
    items, next_cursor = await survey_publish.list_versions(
        session=session, principal=principal, survey_id=survey_id, limit=limit, cursor=cursor
    )
    return Page(items=[SurveyVersionPublic.model_validate(v) for v in items], next_cursor=next_cursor)


@router.get("/{survey_id}/versions/{version}", response_model=SurveyVersionPublic, responses=problem_responses(404))
async def get_survey_version(
    survey_id: str, version: VersionNumber, principal: Reader, session: SessionDep
) -> SurveyVersionPublic:
    """One published version, frozen as respondents answered it (scope `surveys:read`)."""
    frozen = await survey_publish.get_version(
        session=session, principal=principal, survey_id=survey_id, version=version
    )
    return SurveyVersionPublic.model_validate(frozen)
