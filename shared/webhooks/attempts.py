"""One attempt at a webhook delivery (a signed POST and what it means for the delivery), and writing a batch of
attempts' outcomes in one transaction: the attempt rows, the deliveries' new state, their webhooks' health."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import bindparam, insert, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import utcnow
from shared.errors import CxloopError
from shared.ids import new_id
from shared.webhooks.signing import headers as signed_headers
from shared.webhooks.ssrf import pinned
from shared.webhooks.tables import WebhookDeliveryFields, WebhookFields, WebhookTables

TIMEOUT_SECONDS = 10.0


def retry_delay(attempts: int) -> dt.timedelta:
    """5 s, 10 s, 20 s … capped at one hour between attempts."""
    return dt.timedelta(seconds=min(3600.0, 5.0 * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Outcome:
    """What one attempt did: the answer (or error), and the delivery's and webhook's state after it."""

    delivery: WebhookDeliveryFields
    hook: WebhookFields
    at: dt.datetime
    duration_ms: float | None  # None: no request was made (the webhook was disabled meanwhile)
    code: int | None
    error: str | None
    status: str  # pending (retry at next_attempt_at), delivered, failed
    next_attempt_at: dt.datetime | None
    disable: str | None = None  # why the webhook is switched off, if it is


async def attempt(
    client: httpx.AsyncClient,
    delivery: WebhookDeliveryFields,
    hook: WebhookFields,
    *,
    allow_private: bool,
    disable_after: dt.timedelta,
) -> Outcome:
    """POST one delivery, signed the Standard Webhooks way, and decide what follows from the answer."""
    at = utcnow()
    if not hook.active:
        return Outcome(delivery, hook, at, None, None, "webhook disabled", "failed", None)
    body = json.dumps(message(delivery), separators=(",", ":")).encode()
    code: int | None = None
    started = time.perf_counter()
    try:
        target = await pinned(hook.url, allow_private=allow_private)  # again: DNS may have changed
        headers = signed_headers(hook.secret, delivery.event_id, int(at.timestamp()), body) | target.headers
        answer = await client.post(target.url, content=body, headers=headers, extensions=target.extensions)
        code, error = answer.status_code, None if answer.is_success else f"HTTP {answer.status_code}"
    except CxloopError as exc:
        error = exc.detail or exc.title
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    took = (time.perf_counter() - started) * 1000
    if error is None:
        return Outcome(delivery, hook, at, took, code, None, "delivered", None)
    if code == 410:  # the receiver says the endpoint is gone for good
        return Outcome(delivery, hook, at, took, code, error, "failed", None, "receiver answered 410")
    failing_since = hook.failing_since or at
    if at - failing_since > disable_after:
        reason = f"failing since {failing_since.isoformat()}"
        return Outcome(delivery, hook, at, took, code, error, "failed", None, reason)
    return Outcome(delivery, hook, at, took, code, error, "pending", at + retry_delay(delivery.attempts))


def message(delivery: WebhookDeliveryFields) -> dict[str, Any]:
    """The body: the whole event, in the Standard Webhooks shape (`type`, `timestamp`, `data`) plus its id and org."""
    event = delivery.payload
    return {
        "type": event["type"],
        "timestamp": event["occurred_at"],
        "id": event["id"],
        "org": event["org"],
        "data": event.get("data", {}),
    }


async def record(session: AsyncSession, tables: WebhookTables, outcomes: Sequence[Outcome]) -> None:
    """Write a batch of outcomes: one attempt row each, the deliveries' state, and their webhooks' health."""
    if not outcomes:
        return
    sent = [o for o in outcomes if o.duration_ms is not None]
    if sent:
        await session.exec(insert(tables.attempts.__table__), params=[_attempt_row(o) for o in sent])  # type: ignore[attr-defined, call-overload]
    core = tables.deliveries.__table__  # type: ignore[attr-defined]
    changes = [
        {
            "row_id": o.delivery.id,
            "status": o.status,
            "next_attempt_at": o.next_attempt_at,
            "last_status_code": o.code,
            "last_error": o.error,
            "delivered_at": o.at if o.status == "delivered" else None,
        }
        for o in outcomes
    ]
    await session.exec(update(core).where(core.c.id == bindparam("row_id")), params=changes)  # type: ignore[call-overload]
    await _webhook_health(session, tables.webhooks, outcomes)


def _attempt_row(outcome: Outcome) -> dict[str, Any]:
    delivery = outcome.delivery
    return {
        "id": new_id("wha"),
        "org": delivery.org,
        "delivery_id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "number": delivery.attempts,
        "at": outcome.at,
        "duration_ms": round(outcome.duration_ms or 0.0, 3),
        "status_code": outcome.code,
        "error": outcome.error,
    }


async def _webhook_health(session: AsyncSession, table: type[WebhookFields], outcomes: Sequence[Outcome]) -> None:
    """A failure starts a webhook's `failing_since`, a success clears it, a 410 or a long failure disables it."""
    failing = {
        o.hook.id: o.at
        for o in outcomes
        if o.status != "delivered" and o.duration_ms is not None and o.hook.failing_since is None
    }
    recovered = {o.hook.id for o in outcomes if o.status == "delivered" and o.hook.failing_since is not None}
    disabled = {o.hook.id: o.disable for o in outcomes if o.disable}
    for hook_id, since in failing.items():
        await session.exec(
            update(table)
            .where(col(table.id) == hook_id, col(table.failing_since).is_(None))
            .values(failing_since=since)
        )
    if recovered:
        await session.exec(update(table).where(col(table.id).in_(recovered)).values(failing_since=None))
    for hook_id, reason in disabled.items():
        await session.exec(update(table).where(col(table.id) == hook_id).values(active=False, disabled_reason=reason))
