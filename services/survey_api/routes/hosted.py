"""`/r/{token}` (the hosted survey) and `/u/{token}` (unsubscribe): HTML pages; the token is the credential.

These routes are not in the OpenAPI document (they answer text/html, not the API's problem+json); apps use
`/v1/public/invitations/{token}` instead. Every error becomes a friendly page, never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from services.survey_api import hosted, public, unsubscribe
from services.survey_api.i18n import from_accept_language, ui
from services.survey_api.routes.public import PUBLIC_LIMITS
from shared.db import SessionDep
from shared.errors import CxloopError, NotFound, TooManyRequests

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


router = APIRouter(route_class=HtmlRoute, include_in_schema=False, dependencies=PUBLIC_LIMITS)
assets = APIRouter(include_in_schema=False)
LangQuery = Annotated[str | None, Query(max_length=12)]


@router.get("/r/{token}", response_class=HTMLResponse)
async def survey_page(token: str, session: SessionDep, lang: LangQuery = None) -> HTMLResponse:
    """The hosted survey: opening it marks the invitation `opened`."""
    respondent = await public.open_invitation(session, token, language=lang)
    return html(await hosted.show(session, respondent))


@router.post("/r/{token}", response_class=HTMLResponse)
async def submit_survey_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """A posted page of the hosted survey: the next page, the same page with its errors, or the thank-you."""
    form = await request.form(max_files=0, max_fields=1000)
    language = form.get(hosted.LANG_FIELD)
    respondent = await public.open_invitation(
        session, token, language=language if isinstance(language, str) else None, lock=True
    )
    return html(await hosted.submit(session, respondent, form))


@router.get("/u/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: str, session: SessionDep) -> HTMLResponse:
    """Asks to confirm: a link opened by a mail scanner must not unsubscribe anyone."""
    _, language = await unsubscribe.find_contact(session, token)
    button = ui(language)["unsubscribe_button"]
    return html(hosted.message(language, "unsubscribe_title", "unsubscribe_body", form=button))


@router.post("/u/{token}", response_class=HTMLResponse)
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
