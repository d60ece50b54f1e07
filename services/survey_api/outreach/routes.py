"""`/v1/distributions` and `/v1/invitations/{id}/display`: sending a survey to contacts, and what became of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from services.survey_api.outreach import distributions, triggers
from services.survey_api.outreach.schemas import (
    DistributionCreate,
    DistributionCreated,
    DistributionPublic,
    InvitationPublic,
    TriggerCreate,
    TriggerResult,
)
from services.survey_api.scopes import DistributionWriter, SurveyReader
from services.survey_api.settings import SurveySettings
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.pagination import CursorQuery, LimitQuery, Page

distributions_router = APIRouter(
    prefix="/v1/distributions", tags=["distributions"], responses=problem_responses(401, 403, 422)
)
invitations_router = APIRouter(prefix="/v1/invitations", tags=["distributions"], responses=problem_responses(401, 403))
SurveyId = Annotated[str | None, Query(max_length=40, description="Only distributions of this survey")]


def _settings(request: Request) -> SurveySettings:
    settings: SurveySettings = request.app.state.settings
    return settings


@distributions_router.post(
    "", status_code=201, response_model=DistributionCreated, responses=problem_responses(404, 409)
)
async def create_distribution(
    data: DistributionCreate, request: Request, principal: DistributionWriter, session: SessionDep
) -> DistributionCreated:
    """Send an active survey to contacts (scope `distributions:write`): every contact's fate, links shown once.

    Exactly one of `contact_ids` (up to 10,000) and `audience`. A retry needs no `Idempotency-Key`: contacts
    invited by the first attempt hold an open invitation, so the retry reports them as `duplicate`.
    """
    return await distributions.create_distribution(
        session=session, principal=principal, settings=_settings(request), data=data
    )


@distributions_router.get("", response_model=Page[DistributionPublic])
async def list_distributions(
    principal: SurveyReader,
    session: SessionDep,
    survey_id: SurveyId = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[DistributionPublic]:
    """The org's distributions in creation order, a page at a time (scope `surveys:read`)."""
    items, next_cursor = await distributions.list_distributions(
        session=session, principal=principal, survey_id=survey_id, limit=limit, cursor=cursor
    )
    return Page(items=items, next_cursor=next_cursor)


@distributions_router.get("/{distribution_id}", response_model=DistributionPublic, responses=problem_responses(404))
async def get_distribution(distribution_id: str, principal: SurveyReader, session: SessionDep) -> DistributionPublic:
    """One distribution, its invitations counted by status (scope `surveys:read`)."""
    return await distributions.get_distribution(session=session, principal=principal, distribution_id=distribution_id)


@distributions_router.get(
    "/{distribution_id}/invitations", response_model=Page[InvitationPublic], responses=problem_responses(404)
)
async def list_distribution_invitations(
    distribution_id: str,
    principal: SurveyReader,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[InvitationPublic]:
    """Each contact's invitation: status, suppression reason, timestamps, delivery errors (never the token)."""
    items, next_cursor = await distributions.list_invitations(
        session=session, principal=principal, distribution_id=distribution_id, limit=limit, cursor=cursor
    )
    return Page(items=[InvitationPublic.model_validate(i) for i in items], next_cursor=next_cursor)


@invitations_router.post(
    "/{invitation_id}/display", response_model=InvitationPublic, responses=problem_responses(404, 409)
)
async def display_invitation(
    invitation_id: str, principal: DistributionWriter, session: SessionDep
) -> InvitationPublic:
    """Record that a web or in-app invitation was shown (scope `distributions:write`): it counts as delivered."""
    invitation = await distributions.display_invitation(
        session=session, principal=principal, invitation_id=invitation_id
    )
    return InvitationPublic.model_validate(invitation)


triggers_router = APIRouter(prefix="/v1/triggers", tags=["triggers"], responses=problem_responses(401, 403, 422))


@triggers_router.post(
    "",
    status_code=201,
    response_model=TriggerResult,
    responses={
        200: {"model": TriggerResult, "description": "This interaction_id was seen before: its first result"},
        **problem_responses(404, 409),
    },
)
async def create_trigger(
    data: TriggerCreate, request: Request, principal: DistributionWriter, session: SessionDep
) -> JSONResponse:
    """Invite the interaction's contact to the touchpoint's active survey (scope `distributions:write`).

    201 with the invitation (or the suppression reason, `sampled_out` included); 200 with the first result
    when the `interaction_id` was seen before; 404 for an unknown touchpoint; 409 when no active survey
    listens at it.
    """
    settings: SurveySettings = request.app.state.settings
    result, created = await triggers.trigger(session=session, principal=principal, settings=settings, data=data)
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if created else 200)


router = APIRouter()
"""Outreach's routes: `/v1/distributions`, `/v1/invitations`, `/v1/triggers`."""
for _part in (distributions_router, invitations_router, triggers_router):
    router.include_router(_part)
