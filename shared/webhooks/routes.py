"""`/v1/webhooks`: subscribe a URL to events (scope `admin`); the secret is shown once; deliveries and every
attempt at them are visible."""

# No `from __future__ import annotations`: FastAPI must see the concrete types of the closures below.
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import update
from sqlmodel import col, select

from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import NotFound, problem_responses
from shared.ids import new_id
from shared.pagination import CursorQuery, LimitQuery, Page, keyset, page_of, visible_page
from shared.webhooks.signing import new_secret
from shared.webhooks.ssrf import check_target
from shared.webhooks.tables import WebhookAttemptFields, WebhookFields, WebhookTables

EventPattern = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z][a-z_]*\.(\*|[a-z][a-z_]*))$", max_length=100)]


class WebhookCreate(BaseModel):
    """Where to POST which events: exact types (`response.completed`), a family (`response.*`) or `*`."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000)
    event_types: list[EventPattern] = Field(min_length=1, max_length=50)
    survey_id: str | None = Field(default=None, max_length=40, description="Only events of this survey")
    description: str | None = Field(default=None, max_length=500)


class WebhookPublic(BaseModel):
    """A webhook as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    event_types: list[str]
    survey_id: str | None
    description: str | None
    units: list[str] | None = Field(description="Only events of these unit subtrees (the creator's units)")
    active: bool
    disabled_reason: str | None
    failing_since: dt.datetime | None
    created_at: dt.datetime


class WebhookCreated(WebhookPublic):
    """The answer to a create: the only time the signing secret is shown."""

    secret: str


class AttemptPublic(BaseModel):
    """One attempt at a delivery: when, how long it took, and the receiver's status code or the error."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    at: dt.datetime
    duration_ms: float
    status_code: int | None
    error: str | None


class DeliveryPublic(BaseModel):
    """One event owed to a webhook, where it stands, and every attempt so far (oldest first)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    event_id: str
    event_type: str
    status: str = Field(description="pending, delivered or failed (given up)")
    attempts: int
    next_attempt_at: dt.datetime | None = Field(description="When it is tried next; null once delivered or failed")
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    attempt_log: list[AttemptPublic] = Field(description="Every attempt, oldest first")


def visible(principal: Principal, webhook: WebhookFields) -> bool:
    """Whether a caller may see a webhook: all when unrestricted, else those limited to units inside theirs."""
    if principal.units is None:
        return True
    return webhook.units is not None and all(principal.sees_unit(u) for u in webhook.units)


async def attempt_logs(
    session: SessionDep, table: type[WebhookAttemptFields], delivery_ids: list[str]
) -> dict[str, list[AttemptPublic]]:
    """Every attempt at each of these deliveries, oldest first, by delivery id."""
    logs: dict[str, list[AttemptPublic]] = {delivery_id: [] for delivery_id in delivery_ids}
    if delivery_ids:
        statement = select(table).where(col(table.delivery_id).in_(delivery_ids)).order_by(col(table.number))
        for row in await session.exec(statement):
            logs[row.delivery_id].append(AttemptPublic.model_validate(row))
    return logs


def webhooks_router(tables: WebhookTables) -> APIRouter:
    """Create, list, read, enable and delete webhooks, and read their deliveries with every attempt."""
    webhooks, deliveries = tables.webhooks, tables.deliveries
    router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=problem_responses(401, 403, 422))
    admin = Annotated[Principal, Depends(require_scopes("admin"))]

    async def find(session: SessionDep, principal: Principal, webhook_id: str) -> WebhookFields:
        webhook = await session.get(webhooks, webhook_id)
        if webhook is None or webhook.org != principal.org or not visible(principal, webhook):
            raise NotFound(f"No webhook {webhook_id!r}")
        return webhook

    async def create_webhook(data: WebhookCreate, request: Request, principal: admin, session: SessionDep) -> Response:
        """Subscribe a URL; the answer carries the `whsec_…` secret, shown this once."""
        await check_target(data.url, allow_private=request.app.state.settings.webhooks_allow_private)
        units = list(principal.units) if principal.units is not None else None
        webhook = webhooks(id=new_id("wh"), org=principal.org, secret=new_secret(), units=units, **data.model_dump())
        session.add(webhook)
        await session.flush()
        body = WebhookCreated.model_validate(webhook).model_dump_json()
        return Response(body, status_code=201, media_type="application/json")

    async def list_webhooks(
        principal: admin, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
    ) -> Page[WebhookPublic]:
        """The org's webhooks (a unit-restricted caller: those limited to units inside theirs)."""
        statement = select(webhooks).where(webhooks.org == principal.org)
        items, next_cursor = await visible_page(
            session, statement, col(webhooks.id), keep=lambda w: visible(principal, w), limit=limit, cursor=cursor
        )
        return Page(items=[WebhookPublic.model_validate(w) for w in items], next_cursor=next_cursor)

    async def get_webhook(webhook_id: str, principal: admin, session: SessionDep) -> WebhookPublic:
        """One webhook (without its secret)."""
        return WebhookPublic.model_validate(await find(session, principal, webhook_id))

    async def enable_webhook(webhook_id: str, principal: admin, session: SessionDep) -> WebhookPublic:
        """Turn a disabled webhook back on (new events only; what failed stays failed)."""
        webhook = await find(session, principal, webhook_id)
        webhook.active, webhook.disabled_reason, webhook.failing_since = True, None, None
        session.add(webhook)
        await session.flush()
        return WebhookPublic.model_validate(webhook)

    async def delete_webhook(webhook_id: str, principal: admin, session: SessionDep) -> Response:
        """Stop delivering to this URL; undelivered events are dropped with it."""
        webhook = await find(session, principal, webhook_id)
        await session.exec(
            update(deliveries)
            .where(col(deliveries.webhook_id) == webhook.id, col(deliveries.status) == "pending")
            .values(status="failed", next_attempt_at=None, last_error="webhook deleted")
        )
        await session.delete(webhook)
        return Response(status_code=204)

    async def list_webhook_deliveries(
        webhook_id: str, principal: admin, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
    ) -> Page[DeliveryPublic]:
        """Every event owed to this webhook, oldest first, with every attempt at it."""
        await find(session, principal, webhook_id)
        statement = select(deliveries).where(deliveries.webhook_id == webhook_id)
        rows = (await session.exec(keyset(statement, col(deliveries.id), limit=limit, cursor=cursor))).all()
        items, next_cursor = page_of(rows, limit=limit, key_of=lambda d: d.id)
        logs = await attempt_logs(session, tables.attempts, [d.id for d in items])
        return Page(
            items=[DeliveryPublic.model_validate({**d.model_dump(), "attempt_log": logs[d.id]}) for d in items],
            next_cursor=next_cursor,
        )

    missing = problem_responses(404)
    router.add_api_route("", create_webhook, methods=["POST"], status_code=201, response_model=WebhookCreated)
    router.add_api_route("", list_webhooks, methods=["GET"], response_model=Page[WebhookPublic])
    router.add_api_route("/{webhook_id}", get_webhook, methods=["GET"], response_model=WebhookPublic, responses=missing)
    router.add_api_route("/{webhook_id}", delete_webhook, methods=["DELETE"], status_code=204, responses=missing)
    router.add_api_route(
        "/{webhook_id}/enable", enable_webhook, methods=["POST"], response_model=WebhookPublic, responses=missing
    )
    router.add_api_route(
        "/{webhook_id}/deliveries",
        list_webhook_deliveries,
        methods=["GET"],
        response_model=Page[DeliveryPublic],
        responses=missing,
    )
    return router
