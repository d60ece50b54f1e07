"""One error base class, its subclasses, and the RFC 9457 problem+json handlers every service installs."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://cxloop.dev/problems/"
RETRY_AFTER_SECONDS = 5
# The database cannot be reached (refused, gone, timed out, pool exhausted): a 503 the caller may retry, not a 500.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    ConnectionError,
)

logger = logging.getLogger("cxloop.errors")


class FieldError(BaseModel):
    """One invalid field: where it is (a dotted path), what is wrong, and a machine-readable code."""

    field: str
    message: str
    code: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class CxloopError(Exception):
    """The base of every error the services raise; the handler turns it into problem+json."""

    status: int = 500
    slug: str = "internal"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})


class BadRequest(CxloopError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(CxloopError):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="cxloop", error="invalid_token"')


class Forbidden(CxloopError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(CxloopError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(CxloopError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(CxloopError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(CxloopError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class Unprocessable(CxloopError):
    status, slug, title = 422, "validation", "Validation failed"


class PreconditionRequired(CxloopError):
    status, slug, title = 428, "precondition-required", "Precondition required"


class TooManyRequests(CxloopError):
    status, slug, title = 429, "rate-limited", "Too many requests"


def invalid(field: str, message: str, code: str = "invalid") -> Unprocessable:
    """A 422 naming one invalid field, for business rules that Pydantic cannot express."""
    return Unprocessable(f"{field}: {message}", errors=[FieldError(field=field, message=message, code=code)])


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    request: Request | None = None,
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Render a problem document (the one error shape of every service)."""
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    problem = Problem(
        type=TYPE_BASE + slug,
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        request_id=request_id,
        errors=list(errors) if errors else None,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True), status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )


def _field_path(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts)


def pydantic_field_errors(errors: Sequence[Any]) -> list[FieldError]:
    """Pydantic's error dicts (from a request or a model validated by hand) as `FieldError`s."""
    return [_field_error(err) for err in errors]


def _field_error(err: Any) -> FieldError:
    if err.get("type") == "json_invalid":  # FastAPI puts the character position where the field goes
        position, reason = err.get("loc", ("", "?"))[-1], (err.get("ctx") or {}).get("error", "JSON decode error")
        return FieldError(
            field="body", message=f"malformed JSON at character {position}: {reason}", code="json_invalid"
        )
    return FieldError(field=_field_path(err.get("loc", ())), message=str(err.get("msg", "")), code=str(err.get("type")))


def validation_field_errors(exc: RequestValidationError) -> list[FieldError]:
    """Each invalid field of a request, as `FieldError`s."""
    return pydantic_field_errors(exc.errors())


async def _handle_cxloop_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CxloopError)
    return problem_response(
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        request=request,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_field_errors(exc)
    detail = "; ".join(f"{e.field or 'body'}: {e.message}" for e in errors)[:1000]
    return problem_response(
        status=422, slug="validation", title="Validation failed", detail=detail, request=request, errors=errors
    )


async def _handle_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return database_unavailable(request)


def database_unavailable(request: Request | None = None) -> JSONResponse:
    """503 problem+json with `Retry-After`: the service's database cannot be reached just now."""
    return problem_response(
        status=503,
        slug="database-unavailable",
        title="Service unavailable",
        detail="The service's database cannot be reached; retry shortly.",
        request=request,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_FASTAPI_BODY_ERROR = "There was an error parsing the body"
_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:  # undecodable bytes, nesting too deep, …
        message = f"could not be parsed ({type(exc.__cause__).__name__})"
        errors = [FieldError(field="body", message=message, code="body_invalid")]
        return problem_response(
            status=422,
            slug="validation",
            title="Validation failed",
            detail=f"body: {message}",
            request=request,
            errors=errors,
        )
    if exc.status_code == 405:  # the router names the methods of one route; the path may have several
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem_response(
        status=exc.status_code, slug=slug, title=title, detail=detail, request=request, headers=headers
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this request's path."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return [*allowed, "HEAD"] if "GET" in allowed else allowed


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        status=500,
        slug="internal",
        title="Internal server error",
        detail="An unexpected error occurred; it has been logged.",
        request=request,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of `app` an RFC 9457 problem document."""
    app.add_exception_handler(CxloopError, _handle_cxloop_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _handle_database_unavailable)
    app.add_exception_handler(Exception, _handle_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json for the given statuses."""
    descriptions = {
        400: "Bad request",
        401: "Missing or invalid bearer token",
        403: "The token lacks a required scope or unit",
        404: "Not found (or another tenant's)",
        409: "Conflict",
        412: "Stale If-Match",
        413: "Body too large",
        422: "Validation failed; `errors` lists each invalid field",
        428: "If-Match required",
        429: "Rate limited",
        503: "The database cannot be reached; retry after `Retry-After` seconds",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
