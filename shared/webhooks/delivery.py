"""Webhook fan-out (from the outbox, as a local destination of the dispatcher) and signed delivery with retries."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col, select

from shared.consumer import wanted
from shared.db import Database, claim_statement, utcnow
from shared.errors import CxloopError
from shared.ids import new_id
from shared.outbox import OutboxEventFields
from shared.webhooks.signing import headers as signed_headers
from shared.webhooks.ssrf import pinned
from shared.webhooks.tables import WebhookDeliveryFields, WebhookFields

logger = logging.getLogger("cxloop.webhooks")
TIMEOUT_SECONDS = 10.0
LEASE = dt.timedelta(seconds=60)


def matches(webhook: WebhookFields, event: dict[str, Any]) -> bool:
    """Whether a webhook wants this event (its types, `family.*`, `*`, and its optional survey filter)."""
    patterns = ["*" if p == "*" else p.removesuffix("*") for p in webhook.event_types]
    if "*" not in patterns and not wanted(event["type"], patterns):
        return False
    if webhook.survey_id is not None and event.get("data", {}).get("survey_id") != webhook.survey_id:
        return False
    return in_units(webhook.units, event)


def in_units(units: Sequence[str] | None, event: dict[str, Any]) -> bool:
    """Whether an event lies inside `units` (always when None); an event without a unit path only when None."""
    if units is None:
        return True
    unit = event.get("data", {}).get("unit")
    return isinstance(unit, str) and any(unit == u or unit.startswith(u + "/") for u in units)


def retry_delay(attempts: int) -> dt.timedelta:
    """5 s, 10 s, 20 s … capped at one hour between attempts."""
    return dt.timedelta(seconds=min(3600.0, 5.0 * 2 ** max(0, attempts - 1)))


@dataclass
class Webhooks:
    """One service's webhook tables and settings: fans events out and delivers them."""

    db: Database
    webhooks: type[WebhookFields]
    deliveries: type[WebhookDeliveryFields]
    allow_private: bool = False
    disable_after: dt.timedelta = dt.timedelta(hours=72)
    client: httpx.AsyncClient | None = None

    async def fan_out(self, rows: Sequence[OutboxEventFields]) -> None:
        """Owe each event to every active webhook of its org that wants it (the dispatcher's `webhooks` stop)."""
        orgs = {row.org for row in rows}
        async with self.db.sessions() as session, session.begin():
            found = await session.exec(
                select(self.webhooks).where(col(self.webhooks.org).in_(orgs), col(self.webhooks.active).is_(True))
            )
            hooks = list(found.all())
            for row in rows:
                for hook in (h for h in hooks if h.org == row.org and matches(h, row.payload)):
                    session.add(
                        self.deliveries(
                            id=new_id("whd"),
                            org=row.org,
                            webhook_id=hook.id,
                            event_id=row.id,
                            event_type=row.event_type,
                            payload=row.payload,
                        )
                    )

    async def deliver_due(self, now: dt.datetime | None = None, limit: int = 100) -> int:
        """Send the due deliveries once each; how many were attempted."""
        claimed = await self._claim(now or utcnow(), limit)
        if not claimed:  # the common case: no client (and no TLS context, a few ms each) is built for nothing
            return 0
        client = self.client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
        try:
            for delivery, hook in claimed:
                await self._attempt(client, delivery, hook)
        finally:
            if self.client is None:
                await client.aclose()
        return len(claimed)

    async def _claim(self, now: dt.datetime, limit: int) -> list[tuple[WebhookDeliveryFields, WebhookFields]]:
        table = self.deliveries
        claim = claim_statement(
            table,
            where=[table.status == "pending", col(table.next_attempt_at) <= now],
            values={"next_attempt_at": now + LEASE, "attempts": col(table.attempts) + 1},
            limit=limit,
            order_by=[col(table.next_attempt_at)],
            skip_locked=self.db.is_postgres,
        )
        async with self.db.sessions() as session, session.begin():
            rows = list((await session.exec(claim)).scalars().all())  # type: ignore[call-overload]
            ids = {r.webhook_id for r in rows}
            hooks = {h.id: h for h in (await session.exec(select(self.webhooks).where(col(self.webhooks.id).in_(ids))))}
        return [(r, hooks[r.webhook_id]) for r in rows if r.webhook_id in hooks]

    async def _attempt(self, client: httpx.AsyncClient, delivery: WebhookDeliveryFields, hook: WebhookFields) -> None:
        if not hook.active:
            await self._finish(delivery, hook, status="failed", error="webhook disabled")
            return
        body = json.dumps(_message(delivery), separators=(",", ":")).encode()
        timestamp = int(utcnow().timestamp())
        code: int | None = None
        try:
            target = await pinned(hook.url, allow_private=self.allow_private)  # again: DNS may have changed
            headers = signed_headers(hook.secret, delivery.event_id, timestamp, body) | target.headers
            answer = await client.post(target.url, content=body, headers=headers, extensions=target.extensions)
            code, error = answer.status_code, None if answer.is_success else f"HTTP {answer.status_code}"
        except CxloopError as exc:
            error = exc.detail or exc.title
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
        if error is None:
            await self._finish(delivery, hook, status="delivered", code=code)
        elif code == 410:  # the receiver says the endpoint is gone for good
            await self._finish(delivery, hook, status="failed", code=code, error=error, disable="receiver answered 410")
        else:
            await self._retry(delivery, hook, code, error)

    async def _finish(
        self,
        delivery: WebhookDeliveryFields,
        hook: WebhookFields,
        *,
        status: str,
        code: int | None = None,
        error: str | None = None,
        disable: str | None = None,
    ) -> None:
        now = utcnow()
        async with self.db.sessions() as session, session.begin():
            await session.exec(
                update(self.deliveries)
                .where(col(self.deliveries.id) == delivery.id)
                .values(
                    status=status,
                    last_status_code=code,
                    last_error=error,
                    delivered_at=now if status == "delivered" else None,
                )
            )
            hook_changes: dict[str, Any] = {"failing_since": None} if status == "delivered" else {}
            if disable:
                hook_changes = {"active": False, "disabled_reason": disable}
            if hook_changes:
                await session.exec(update(self.webhooks).where(col(self.webhooks.id) == hook.id).values(**hook_changes))

    async def _retry(self, delivery: WebhookDeliveryFields, hook: WebhookFields, code: int | None, error: str) -> None:
        now = utcnow()
        failing_since = hook.failing_since or now
        if now - failing_since > self.disable_after:
            reason = f"failing since {failing_since.isoformat()}"
            await self._finish(delivery, hook, status="failed", code=code, error=error, disable=reason)
            return
        async with self.db.sessions() as session, session.begin():
            await session.exec(
                update(self.deliveries)
                .where(col(self.deliveries.id) == delivery.id)
                .values(next_attempt_at=now + retry_delay(delivery.attempts), last_status_code=code, last_error=error)
            )
            if hook.failing_since is None:
                await session.exec(
                    update(self.webhooks).where(col(self.webhooks.id) == hook.id).values(failing_since=failing_since)
                )


def _message(delivery: WebhookDeliveryFields) -> dict[str, Any]:
    """The body: the whole event, in the Standard Webhooks shape (`type`, `timestamp`, `data`) plus its id and org."""
    event = delivery.payload
    return {
        "type": event["type"],
        "timestamp": event["occurred_at"],
        "id": event["id"],
        "org": event["org"],
        "data": event.get("data", {}),
    }
