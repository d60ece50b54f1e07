"""The app factory every service uses: error handlers, middleware, health, metrics and OpenAPI shape."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shared.auth import TokenVerifier
from shared.consumer import EventHandlers, events_router
from shared.db import Database
from shared.dispatch import Dispatcher
from shared.docs import install_docs
from shared.errors import (
    PROBLEM_JSON,
    RETRY_AFTER_SECONDS,
    Problem,
    install_error_handlers,
    problem_response,
    problem_responses,
)
from shared.feed import event_feed_router
from shared.gauges import BusinessGauges, GaugeSource, outbox_gauges, webhook_gauges
from shared.idempotency import IdempotencyRecordFields, IdempotentRunner
from shared.observability import HttpMetrics, RequestMiddleware
from shared.org_settings import OrgSettingsFields, SettingsCheck, org_settings_router
from shared.outbox import InboxFields, OutboxEventFields
from shared.outbox_admin import outbox_admin_router
from shared.settings import ServiceSettings
from shared.strict_query import strict_query
from shared.text_guard import UnstorableTextMiddleware, refuse_unstorable_path
from shared.webhooks.delivery import Webhooks
from shared.webhooks.routes import webhooks_router
from shared.webhooks.tables import WebhookTables

# A periodic job of a service (a sender, a sweeper): runs in-process until the event is set; also a CLI command.
BackgroundLoop = Callable[[FastAPI, asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class EventConsumer:
    """What a service consumes from the others: its inbox table and its one registry of event handlers."""

    inbox: type[InboxFields]
    handlers: EventHandlers


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service different from the others; `create_service_app` wires the rest the same way."""

    title: str
    description: str
    source: str
    routers: Sequence[APIRouter]
    idempotency_table: type[IdempotencyRecordFields]
    org_settings_table: type[OrgSettingsFields]
    org_settings_model: type[BaseModel]
    outbox_table: type[OutboxEventFields]
    consumer: EventConsumer | None = None
    background: Sequence[BackgroundLoop] = ()
    webhooks: WebhookTables | None = None
    event_feed: bool = False
    org_settings_check: SettingsCheck | None = None
    gauges: Sequence[GaugeSource] = ()  # the service's business gauges on /metrics (besides outbox, webhooks)
    version: str = "0.1.0"


def _webhooks(db: Database, settings: ServiceSettings, tables: WebhookTables | None) -> Webhooks | None:
    if tables is None:
        return None
    return Webhooks(
        db=db,
        tables=tables,
        allow_private=settings.webhooks_allow_private,
        disable_after=dt.timedelta(hours=settings.webhooks_disable_after_hours),
        concurrency=settings.webhooks_concurrency,
        per_webhook=settings.webhooks_per_webhook_concurrency,
    )


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_service_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    """A FastAPI app wired the way every cxloop service is: one database, one error shape, one middleware."""
    db = Database(settings.database_url, pool_size=settings.database_pool_size, echo=settings.database_echo)
    dispatcher = Dispatcher(db=db, table=spec.outbox_table, settings=settings, source=spec.source)
    ttl = dt.timedelta(hours=settings.idempotency_ttl_hours)
    idempotency = IdempotentRunner(db, spec.idempotency_table, ttl=ttl)
    hooks = _webhooks(db, settings, spec.webhooks)
    if hooks is not None:
        dispatcher.local = {"webhooks": hooks.fan_out}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        loops: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = [dispatcher.run, idempotency.purge_loop]
        loops += [partial(loop, app) for loop in spec.background]
        if hooks is not None:
            loops.append(hooks.run)
        tasks = [asyncio.create_task(loop(stop)) for loop in loops] if settings.background_tasks else []
        yield
        stop.set()
        await asyncio.gather(*tasks)
        await dispatcher.close()
        if hooks is not None:
            await hooks.close()
        for client in app.state.service_clients:
            await client.aclose()
        await db.dispose()

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # shared.docs serves them with local assets
        redoc_url=None,
        # every documented route: unknown or repeated query parameters, and unstorable path text, are 422
        dependencies=[Depends(strict_query), Depends(refuse_unstorable_path)],
    )
    app.state.settings = settings
    app.state.db = db
    app.state.verifier = TokenVerifier(settings)
    app.state.http_metrics = metrics = HttpMetrics()
    sources = [outbox_gauges(spec.outbox_table), *spec.gauges]
    if spec.webhooks is not None:
        sources.append(webhook_gauges(spec.webhooks.webhooks))
    app.state.gauges = BusinessGauges(registry=metrics.registry, db=db, sources=sources)
    app.state.idempotency = idempotency
    app.state.dispatcher = dispatcher
    app.state.webhooks = hooks
    app.state.service_clients = []  # the service's clients of other services (shared.clients), closed at shutdown
    install_error_handlers(app)
    install_docs(app)
    _include_routers(app, spec)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Request-ID"],
            expose_headers=["ETag", "X-Request-ID", "Idempotent-Replayed"],
            max_age=600,
        )
    app.add_middleware(UnstorableTextMiddleware)  # NUL/lone surrogates: 422, not a 500
    app.add_middleware(RequestMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _include_routers(app: FastAPI, spec: ServiceSpec) -> None:
    """Mount the routes every service has, then the service's own, then its event consumer."""
    app.include_router(_health_router())
    settings_routes = org_settings_router(
        table=spec.org_settings_table, model=spec.org_settings_model, check=spec.org_settings_check
    )
    app.include_router(settings_routes)
    app.include_router(outbox_admin_router(spec.outbox_table))
    if spec.event_feed:
        app.include_router(event_feed_router(spec.outbox_table))
    if spec.webhooks is not None:
        app.include_router(webhooks_router(spec.webhooks))
    for router in spec.routers:
        app.include_router(router)
    if spec.consumer is not None:
        app.include_router(events_router(inbox=spec.consumer.inbox, handlers=spec.consumer.handlers))


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", responses=problem_responses(503))
    async def readyz(request: Request) -> Response:
        """The process is up and its database answers."""
        try:
            await request.app.state.db.ping()
        except Exception as exc:
            return problem_response(
                status=503,
                slug="not-ready",
                title="Not ready",
                detail=f"database: {type(exc).__name__}",
                request=request,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return JSONResponse({"status": "ready"})

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        """Prometheus text: request counts and latencies per route, and the service's business gauges."""
        await request.app.state.gauges.refresh()
        body, content_type = request.app.state.http_metrics.render()
        return Response(body, media_type=content_type)

    return router


_NO_DATABASE = {"/healthz", "/metrics"}
_UNAVAILABLE = {
    "description": "The database cannot be reached; retry after `Retry-After` seconds",
    "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _shape_operation(path: str, operation: dict[str, Any]) -> None:
    """Errors as problem+json, the bearer scheme where a token is checked, 503 where a database is read."""
    responses = operation.get("responses", {})
    for status, response in responses.items():
        content = response.get("content", {})
        if status[0] in "45" and "application/json" in content:
            content[PROBLEM_JSON] = content.pop("application/json")
        if status[0] in "45" and PROBLEM_JSON in content:  # FastAPI's own 422 model is not what we send
            content[PROBLEM_JSON] = {"schema": {"$ref": "#/components/schemas/Problem"}}
    if "401" in responses:  # the routes that verify a bearer token say so, for generated clients
        operation["security"] = [{"bearerAuth": []}]
    if path not in _NO_DATABASE:  # any other route may find its database unreachable
        responses.setdefault("503", _UNAVAILABLE)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error response declared as problem+json."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            _shape_operation(path, operation)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
    for name, definition in schemas["Problem"].pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    app.openapi_schema = schema
    return schema
