"""The respondent's routes: the public JSON API (`/v1/public/invitations/{token}`) and the hosted pages.

`/r/{token}` (the hosted survey) and `/u/{token}` (unsubscribe) are HTML pages and are not in the OpenAPI
document (they answer text/html, not the API's problem+json); apps use the JSON API instead. The token is the
credential. Every error of a page becomes a friendly page, never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute

from services.survey_api.models import RateLimitCounter
from services.survey_api.respondent import answering as public
from services.survey_api.respondent import page as hosted
from services.survey_api.respondent import unsubscribe
from services.survey_api.respondent.i18n import from_accept_language, ui
from services.survey_api.respondent.schemas import PublicInvitation, PublicResponseCreate, PublicResponseResult
from shared.db import SessionDep
from shared.errors import CxloopError, NotFound, TooManyRequests, problem_responses
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

api = APIRouter(prefix="/v1/public/invitations", tags=["public"], dependencies=PUBLIC_LIMITS, responses=_ERRORS)
Token = Annotated[str, Path(max_length=200, description="The invitation token from the respondent's link")]
LangQuery = Annotated[Language | None, Query(description="Show prompts in this language, if the survey has it")]


@api.get("/{token}", response_model=PublicInvitation, openapi_extra=_NO_AUTH)
async def get_public_invitation(token: Token, session: SessionDep, lang: LangQuery = None) -> PublicInvitation:
    """The survey version an invitation answers, in the respondent's language, with answers saved so far.

    No bearer token: the invitation token is the credential. Reading it marks the invitation `opened`.
    """
    respondent = await public.open_invitation(session, token, language=lang)
    public.mark_opened(session, respondent)
    return public.describe(respondent)


@api.post(
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


logger = logging.getLogger("cxloop.hosted")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",  # the URL holds the token: never send it to another site
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
_GONE_PAGES = {
    public.InvitationCompleted: ("thanks_title", "thanks_body"),
    public.InvitationExpired: ("expired_title", "expired_body"),
    public.SurveyClosed: ("closed_title", "closed_body"),
}


def html(page: hosted.Page, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page as an HTML response, with the headers every hosted page carries."""
    return HTMLResponse(hosted.render(page), status_code=page.status, headers={**SECURITY_HEADERS, **(headers or {})})


def error_page(request: Request, exc: Exception) -> HTMLResponse:
    """The friendly page for an error of a hosted route (404, 410, 429, anything else)."""
    language = getattr(exc, "language", None) or from_accept_language(request.headers.get("accept-language"))
    if isinstance(exc, public.Gone):
        title, body = _GONE_PAGES.get(type(exc), ("expired_title", "expired_body"))
        return html(hosted.message(language, title, body, status=410))
    if isinstance(exc, NotFound | RequestValidationError):
        return html(hosted.message(language, "not_found_title", "not_found_body", status=404))
    if isinstance(exc, TooManyRequests):
        return html(hosted.message(language, "rate_title", "rate_body", status=429), headers=exc.headers)
    status = exc.status if isinstance(exc, CxloopError) else 500
    if status >= 500:
        logger.exception("hosted page %s %s failed", request.method, request.url.path, exc_info=exc)
    return html(hosted.message(language, "error_title", "error_body", status=status))


class HtmlRoute(APIRoute):
    """A route whose errors (from dependencies too) are HTML pages instead of problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every failure is a page; the session has been rolled back already
                return error_page(request, exc)

        return handle


pages = APIRouter(route_class=HtmlRoute, include_in_schema=False, dependencies=PUBLIC_LIMITS)
assets = APIRouter(include_in_schema=False)
PageLangQuery = Annotated[str | None, Query(max_length=12)]


@pages.get("/r/{token}", response_class=HTMLResponse)
async def survey_page(token: str, session: SessionDep, lang: PageLangQuery = None) -> HTMLResponse:
    """The hosted survey: opening it marks the invitation `opened`."""
    respondent = await public.open_invitation(session, token, language=lang)
    return html(await hosted.show(session, respondent))


@pages.post("/r/{token}", response_class=HTMLResponse)
async def submit_survey_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """A posted page of the hosted survey: the next page, the same page with its errors, or the thank-you."""
    form = await request.form(max_files=0, max_fields=1000)
    language = form.get(hosted.LANG_FIELD)
    respondent = await public.open_invitation(
        session, token, language=language if isinstance(language, str) else None, lock=True
    )
    return html(await hosted.submit(session, respondent, form))


@pages.get("/u/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: str, session: SessionDep) -> HTMLResponse:
    """Asks to confirm: a link opened by a mail scanner must not unsubscribe anyone."""
    _, language = await unsubscribe.find_contact(session, token)
    button = ui(language)["unsubscribe_button"]
    return html(hosted.message(language, "unsubscribe_title", "unsubscribe_body", form=button))


@pages.post("/u/{token}", response_class=HTMLResponse)
async def unsubscribe_contact(token: str, session: SessionDep) -> HTMLResponse:
    """Unsubscribes the invitation's contact: the confirmed form, or a mail client's `List-Unsubscribe=One-Click`."""
    _, language = await unsubscribe.unsubscribe(session, token)
    return html(hosted.message(language, "unsubscribed_title", "unsubscribed_body"))


@assets.get("/r/static/{name}")
async def hosted_asset(name: str) -> Response:
    """The hosted pages' stylesheet and script, from the package (no CDN); cacheable, not rate limited."""
    if name not in hosted.ASSETS:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(hosted.asset(name), media_type=hosted.ASSETS[name], headers=headers)


router = APIRouter()
"""The respondent's routes: the public JSON API, the hosted pages and their assets."""
for _part in (api, pages, assets):
    router.include_router(_part)
