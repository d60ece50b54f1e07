"""Request ids, structured logs (JSON or console), Prometheus metrics and the body limit, as one ASGI middleware."""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
import time
import uuid
from typing import Any, Literal

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, Processor

from shared.errors import problem_response
from shared.settings import get_common_settings

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_logger = logging.getLogger("cxloop.access")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_METHODS_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}


LogFormat = Literal["auto", "console", "json"]


def _request_id(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """Add the id of the request being served, if any."""
    request_id = request_id_var.get()
    if request_id:
        event["request_id"] = request_id
    return event


def _record_fields(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """Merge the `fields` a standard-library call passed as `extra={"fields": {...}}` (the access log's)."""
    record = event.get("_record")
    event.update(getattr(record, "fields", {}) or {})
    return event


def _chain() -> list[Processor]:
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        _request_id,
        _record_fields,
    ]


def log_formatter(log_format: Literal["console", "json"], *, colors: bool = False) -> logging.Formatter:
    """JSON lines (`ts`, `level`, `logger`, `msg`, `request_id`, fields) or coloured one-line console logs."""
    renderer: Processor
    if log_format == "json":
        final: list[Processor] = [
            structlog.processors.EventRenamer("msg"),
            structlog.processors.format_exc_info,  # the traceback as one string, without local variables
        ]
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        final = []
        renderer = structlog.dev.ConsoleRenderer(
            colors=colors, timestamp_key="ts", exception_formatter=structlog.dev.plain_traceback
        )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_chain(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final, renderer],
    )


def resolve_log_format(log_format: LogFormat, *, env: str, tty: bool) -> Literal["console", "json"]:
    """`auto` is console on a terminal or in development, JSON otherwise (production, tests, pipes)."""
    if log_format != "auto":
        return log_format
    return "console" if tty or env == "development" else "json"


def configure_logging(level: str = "INFO", log_format: LogFormat | None = None) -> None:
    """Send every log line to stderr in `CXLOOP_LOG_FORMAT` (called by the CLI, not on import)."""
    settings = get_common_settings()
    tty = sys.stderr.isatty()
    chosen = resolve_log_format(log_format or settings.log_format, env=settings.env, tty=tty)
    colors = chosen == "console" and (tty or settings.env == "development") and "NO_COLOR" not in os.environ
    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter(chosen, colors=colors))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class HttpMetrics:
    """Request counts and latencies per route, in a registry of the app's own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )

        self.ingested = Counter(
            "cxloop_ingested_total",
            "Items partners posted (responses, outcomes, contacts), by what happened to each",
            ["kind", "result"],
            registry=self.registry,
        )

    def count_ingest(self, kind: str, *, accepted: int = 0, duplicates: int = 0, rejected: int = 0) -> None:
        """Count what one single or batch request took in."""
        for result, count in (("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)):
            if count:
                self.ingested.labels(kind, result).inc(count)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestMiddleware:
    """Assigns a request id, limits the body, times the request, counts it and logs one access line."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            limited = await self._limited(scope, receive, send_with_id)
            if limited is not None:
                await self.app(scope, limited, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """The receive channel to use, or None after answering 413 for an oversized body."""
        if scope["method"] not in _METHODS_WITH_BODY:
            return receive
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_body_bytes:
                await self._too_large(scope, send)
                return None
            return receive
        chunks, size, more = [], 0, True
        while more:  # no Content-Length: buffer (bounded) so the limit holds for chunked bodies too
            message = await receive()
            if message["type"] != "http.request":
                return receive
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body_bytes:
                await self._too_large(scope, send)
                return None
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed() -> Message:
            return replay.pop() if replay else await receive()

        return replayed

    async def _too_large(self, scope: Scope, send: Send) -> None:
        response = problem_response(
            status=413,
            slug="payload-too-large",
            title="Payload too large",
            detail=f"Request bodies are limited to {self.max_body_bytes} bytes",
        )
        await response(scope, _no_receive, send)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        access_logger.info(
            "%s %s %s",
            method,
            route,
            status,
            extra={
                "fields": {
                    "method": method,
                    "path": _loggable_path(scope, route),
                    "status": status,
                    "ms": round(seconds * 1000, 2),
                }
            },
        )


def _loggable_path(scope: Scope, route: str) -> str:
    """The path for the access log; where it carries a credential (an invitation token) only its template."""
    return route if "{token}" in route else str(scope["path"])


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None
