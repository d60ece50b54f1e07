"""`/v1/public/invitations/{token}`: the hosted survey flow as JSON, for apps; the token is the credential."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from services.survey_api import public
from services.survey_api.models import RateLimitCounter
from services.survey_api.schemas.public import PublicInvitation, PublicResponseCreate, PublicResponseResult
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.ratelimit import path_param, rate_limit
from shared.schemas.common import Language


def _per_token(request: Request) -> int:
    return int(request.app.state.settings.public_rate_per_minute)


def _per_address(request: Request) -> int:
    return 5 * _per_token(request)


PUBLIC_LIMITS = [
    Depends(rate_limit("public-address", _per_address, table=RateLimitCounter)),
    Depends(rate_limit("public-token", _per_token, table=RateLimitCounter, key=path_param("token"))),
]
"""Every public route (`/r`, `/u`, `/v1/public`): limited per client address and per invitation token."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    **problem_responses(404, 410, 429),
    410: {
        **problem_responses(410)[410],
        "description": "The invitation was answered (`invitation-completed`), expired (`invitation-expired`) "
        "or its survey closed (`survey-closed`)",
    },
    429: {
        **problem_responses(429)[429],
        "description": "Rate limited per invitation token and per client address (CXLOOP_PUBLIC_RATE_PER_MINUTE, "
        "counted per process: each replica has its own limits); `Retry-After` says when to try again",
    },
}
_NO_AUTH: dict[str, Any] = {"security": []}

router = APIRouter(prefix="/v1/public/invitations", tags=["public"], dependencies=PUBLIC_LIMITS, responses=_ERRORS)
Token = Annotated[str, Path(max_length=200, description="The invitation token from the respondent's link")]
LangQuery = Annotated[Language | None, Query(description="Show prompts in this language, if the survey has it")]


@router.get("/{token}", response_model=PublicInvitation, openapi_extra=_NO_AUTH)
async def get_public_invitation(token: Token, session: SessionDep, lang: LangQuery = None) -> PublicInvitation:
    """The survey version an invitation answers, in the respondent's language, with answers saved so far.

    No bearer token: the invitation token is the credential. Reading it marks the invitation `opened`.
    """
    respondent = await public.open_invitation(session, token, language=lang)
    public.mark_opened(session, respondent)
    return public.describe(respondent)


@router.post(
    "/{token}/response",
    status_code=201,
    response_model=PublicResponseResult,
    responses={
        200: {"model": PublicResponseResult, "description": "The answers were merged into the saved response"},
        **problem_responses(422),
    },
    openapi_extra=_NO_AUTH,
)
async def answer_public_invitation(
    token: Token, data: PublicResponseCreate, session: SessionDep, lang: LangQuery = None
) -> JSONResponse:
    """Save answers for an invitation: 201 for the first save, 200 when merged into the saved partial response.

    `finished: false` saves progress (a partial response); `finished: true` (the default) checks the response
    whole, completes it and the invitation. Answers are checked as partner responses are: 422 lists each
    invalid field (`answers.<key>`) with the same codes. No bearer token: the invitation token is the credential.
    """
    respondent = await public.open_invitation(session, token, language=lang, lock=True)
    response, created = await public.save_answers(session, respondent, data.answers, finished=data.finished)
    result = PublicResponseResult(response_id=response.id, finished=response.finished)
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if created else 200)
