"""Webhook fan-out (a local stop of the outbox dispatcher, inside its transaction) and concurrent signed delivery.

Fan-out writes one delivery per (webhook, event) with `INSERT … ON CONFLICT DO NOTHING` on a unique key, in the
dispatcher's transaction that also ticks the event's `webhooks` stop: a crash before the commit loses both, a
crash after it loses neither, and a repeat adds nothing.

Delivery (`run`) keeps up to `concurrency` requests in flight over every webhook and `per_webhook` to one, on
one pooled HTTP client (kept-alive connections), and writes outcomes in batches. Claims are leases
(`FOR UPDATE SKIP LOCKED` on PostgreSQL), so replicas share the work; a webhook with a full queue in this
process is not claimed for, so a slow receiver holds its own deliveries only, never its lease-mates'.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.background import pause
from shared.consumer import wanted
from shared.db import Database, claim_statement, insert_ignoring_conflicts, utcnow
from shared.ids import new_id
from shared.outbox import OutboxEventFields
from shared.webhooks.attempts import TIMEOUT_SECONDS, Outcome, attempt, record
from shared.webhooks.tables import WebhookDeliveryFields, WebhookFields, WebhookTables

logger = logging.getLogger("cxloop.webhooks")
LEASE = dt.timedelta(seconds=60)
QUEUE_ROUNDS = 3  # a webhook's claimed-but-unsent deliveries: at most this many rounds of its concurrency
Claimed = tuple[WebhookDeliveryFields, WebhookFields]


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


@dataclass
class Webhooks:
    """One service's webhook tables and settings: fans events out and delivers them."""

    db: Database
    tables: WebhookTables
    allow_private: bool = False
    disable_after: dt.timedelta = dt.timedelta(hours=72)
    concurrency: int = 64  # requests in flight at once, over every webhook
    per_webhook: int = 8  # requests in flight at once to one webhook
    batch_size: int = 200
    client: httpx.AsyncClient | None = None  # set by tests; else one pooled client, made on first use

    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _gates: dict[str, asyncio.Semaphore] = field(default_factory=dict, init=False, repr=False)
    _held: Counter[str] = field(default_factory=Counter, init=False, repr=False)  # claimed, not yet sent
    _finished: list[Outcome] = field(default_factory=list, init=False, repr=False)
    _finished_ready: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _owns_client: bool = field(default=False, init=False, repr=False)

    def wake(self) -> None:
        """Look for due deliveries now (a fan-out of this process just committed)."""
        self._wakeup.set()

    async def fan_out(self, session: AsyncSession, rows: Sequence[OutboxEventFields]) -> None:
        """Owe each event to every active webhook of its org that wants it, once (the dispatcher's `webhooks` stop,
        in the transaction that marks the stop done)."""
        hooks_table = self.tables.webhooks
        orgs = {row.org for row in rows}
        found = await session.exec(
            select(hooks_table).where(col(hooks_table.org).in_(orgs), col(hooks_table.active).is_(True))
        )
        hooks = list(found.all())
        now = utcnow()
        owed = [_delivery_row(row, hook, now) for row in rows for hook in hooks if _wants(hook, row)]
        if not owed:
            return
        statement = insert_ignoring_conflicts(
            session,
            self.tables.deliveries.__table__,  # type: ignore[attr-defined]
            conflict_columns=("webhook_id", "event_id"),
        )
        await session.exec(statement, params=owed)
        event.listen(session.sync_session, "after_commit", lambda _s: self.wake(), once=True)

    async def deliver_due(self) -> int:
        """Attempt every delivery due now (concurrently, within the bounds) and record them; how many."""
        total = 0
        while claimed := await self._claim(utcnow(), self.batch_size):
            outcomes = await asyncio.gather(*(self._attempt(delivery, hook) for delivery, hook in claimed))
            await self._record(list(outcomes))
            total += len(claimed)
        return total

    async def run(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """Deliver until `stop` is set: claim for every free slot, send each as its webhook has room, record in
        batches. Pauses when nothing is due until a fan-out commits here or `idle_seconds` pass."""
        done = asyncio.Event()
        recorder = asyncio.create_task(self._record_until(done))
        sending: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                self._wakeup.clear()
                room = self.concurrency - len(sending)
                if room <= 0:
                    await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    claimed = await self._claim_room(room)
                except Exception:
                    logger.exception("claiming webhook deliveries failed; retrying")
                    claimed = []
                for delivery, hook in claimed:
                    task = asyncio.create_task(self._send(delivery, hook, lease_end=utcnow() + LEASE))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
                if claimed:
                    continue
                if self._held:  # some webhooks' queues are full: look again when a request ends
                    await asyncio.wait(sending, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await pause(stop, self._wakeup, seconds=idle_seconds)
        finally:
            if sending:
                await asyncio.gather(*sending, return_exceptions=True)
            done.set()
            await recorder

    async def close(self) -> None:
        """Close the HTTP client this object made (not one it was given)."""
        if self.client is not None and self._owns_client:
            await self.client.aclose()
            self.client = None

    def _http(self) -> httpx.AsyncClient:
        if self.client is None:
            limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
            self.client = httpx.AsyncClient(timeout=TIMEOUT_SECONDS, limits=limits)
            self._owns_client = True
        return self.client

    async def _attempt(self, delivery: WebhookDeliveryFields, hook: WebhookFields) -> Outcome:
        gate = self._gates.setdefault(hook.id, asyncio.Semaphore(self.per_webhook))
        async with gate:
            return await attempt(
                self._http(), delivery, hook, allow_private=self.allow_private, disable_after=self.disable_after
            )

    async def _send(self, delivery: WebhookDeliveryFields, hook: WebhookFields, *, lease_end: dt.datetime) -> None:
        """One delivery of `run`: wait for its webhook's turn, send unless the lease would lapse, queue the outcome."""
        try:
            gate = self._gates.setdefault(hook.id, asyncio.Semaphore(self.per_webhook))
            async with gate:
                if utcnow() + dt.timedelta(seconds=TIMEOUT_SECONDS) > lease_end:
                    return  # too late to finish inside the lease: the delivery is due again for the next claim
                outcome = await attempt(
                    self._http(), delivery, hook, allow_private=self.allow_private, disable_after=self.disable_after
                )
            self._finished.append(outcome)
            self._finished_ready.set()
        except Exception:
            logger.exception("webhook delivery %s failed; it is retried after its lease", delivery.id)
        finally:
            self._held[hook.id] -= 1
            if self._held[hook.id] <= 0:
                del self._held[hook.id]

    async def _record_until(self, done: asyncio.Event) -> None:
        """Write finished outcomes in batches (what ends while one batch is written forms the next) until `done`."""
        while not (done.is_set() and not self._finished):
            await pause(done, self._finished_ready, seconds=None)
            self._finished_ready.clear()
            batch, self._finished = self._finished, []
            await self._record(batch)

    async def _record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        try:
            async with self.db.sessions() as session, session.begin():
                await record(session, self.tables, outcomes)
        except Exception:  # the deliveries come back after their lease and are sent again (at least once)
            logger.exception("recording %d webhook attempts failed", len(outcomes))

    async def _claim_room(self, room: int) -> list[Claimed]:
        """Claim up to `room` due deliveries, none for a webhook whose queue here is full (those go back)."""
        cap = self.per_webhook * QUEUE_ROUNDS
        full = [hook_id for hook_id, held in self._held.items() if held >= cap]
        claimed = await self._claim(utcnow(), min(room, self.batch_size), skip=full)
        kept: list[Claimed] = []
        excess: list[str] = []
        for delivery, hook in claimed:
            if self._held[hook.id] < cap:
                self._held[hook.id] += 1
                kept.append((delivery, hook))
            else:
                excess.append(delivery.id)
        if excess:
            await self._release(excess)
        return kept

    async def _claim(self, now: dt.datetime, limit: int, skip: Collection[str] = ()) -> list[Claimed]:
        table = self.tables.deliveries
        where = [table.status == "pending", col(table.next_attempt_at) <= now]
        if skip:
            where.append(col(table.webhook_id).not_in(skip))
        claim = claim_statement(
            table,
            where=where,
            values={"next_attempt_at": now + LEASE, "attempts": col(table.attempts) + 1},
            limit=limit,
            order_by=[col(table.next_attempt_at)],
            skip_locked=self.db.is_postgres,
        )
        hooks_table = self.tables.webhooks
        async with self.db.sessions() as session, session.begin():
            rows = list((await session.exec(claim)).scalars().all())  # type: ignore[call-overload]
            ids = {r.webhook_id for r in rows}
            found = await session.exec(select(hooks_table).where(col(hooks_table.id).in_(ids)))
            hooks = {h.id: h for h in found}
            orphans = [r.id for r in rows if r.webhook_id not in hooks]
            if orphans:  # its webhook was deleted after the claim's snapshot
                await session.exec(
                    update(table)
                    .where(col(table.id).in_(orphans))
                    .values(status="failed", next_attempt_at=None, last_error="webhook deleted")
                )
        return [(r, hooks[r.webhook_id]) for r in rows if r.webhook_id in hooks]

    async def _release(self, delivery_ids: list[str]) -> None:
        """Hand claimed deliveries back, due now, as if never claimed."""
        table = self.tables.deliveries
        async with self.db.sessions() as session, session.begin():
            await session.exec(
                update(table)
                .where(col(table.id).in_(delivery_ids))
                .values(next_attempt_at=utcnow(), attempts=col(table.attempts) - 1)
            )


def _wants(hook: WebhookFields, row: OutboxEventFields) -> bool:
    return hook.org == row.org and matches(hook, row.payload)


def _delivery_row(row: OutboxEventFields, hook: WebhookFields, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": new_id("whd"),
        "org": row.org,
        "webhook_id": hook.id,
        "event_id": row.id,
        "event_type": row.event_type,
        "payload": row.payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_status_code": None,
        "last_error": None,
        "created_at": now,
        "delivered_at": None,
    }
