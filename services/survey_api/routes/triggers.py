"""`/v1/triggers`: an interaction at a touchpoint asks its contact for feedback, in the moment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.survey_api import triggers
from services.survey_api.schemas.triggers import TriggerCreate, TriggerResult
from services.survey_api.settings import SurveySettings
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses

router = APIRouter(prefix="/v1/triggers", tags=["triggers"], responses=problem_responses(401, 403, 422))
Writer = Annotated[Principal, Depends(require_scopes("distributions:write"))]


@router.post(
    "",
    status_code=201,
    response_model=TriggerResult,
    responses={
        200: {"model": TriggerResult, "description": "This interaction_id was seen before: its first result"},
        **problem_responses(404, 409),
    },
)
async def create_trigger(data: TriggerCreate, request: Request, principal: Writer, session: SessionDep) -> JSONResponse:
    """Invite the interaction's contact to the touchpoint's active survey (scope `distributions:write`).

    201 with the invitation (or the suppression reason, `sampled_out` included); 200 with the first result
    when the `interaction_id` was seen before; 404 for an unknown touchpoint; 409 when no active survey
    listens at it.
    """
    settings: SurveySettings = request.app.state.settings
    result, created = await triggers.trigger(session=session, principal=principal, settings=settings, data=data)
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if created else 200)
