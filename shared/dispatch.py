"""The outbox dispatcher: claims due events, POSTs them to their subscribers, retries with capped backoff.

Safe in several replicas: a claim is one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)` that
pushes the rows' `available_at` a lease into the future, so two dispatchers never hold the same row; on
SQLite the single writer makes the same statement atomic. A crashed dispatcher's rows come back when
their lease ends. Delivery is at least once; consumers dedupe by event id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import bindparam, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import mint_service_token
from shared.background import pause
from shared.db import Database, claim_statement, utcnow
from shared.outbox import OutboxEventFields, on_outbox_commit
from shared.settings import CommonSettings

logger = logging.getLogger("cxloop.dispatch")
# A stop inside the producing service (its webhooks' fan-out, a notifier): it writes with the session it is given,
# in the transaction that also ticks the stop off the events, so a crash keeps both or neither.
LocalStop = Callable[[AsyncSession, Sequence[OutboxEventFields]], Awaitable[None]]
BACKOFF_CAP_SECONDS = 30.0


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff with full jitter, capped at 30 s (a subscriber that returns catches up quickly)."""
    ceiling = min(BACKOFF_CAP_SECONDS, 0.5 * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not secrets


def service_clients(settings: CommonSettings, timeout: float = 10.0) -> dict[str, httpx.AsyncClient]:
    """HTTP clients for the other services, at the URLs the settings give."""
    urls = {"survey": settings.survey_api_url, "metrics": settings.metrics_api_url, "loop": settings.loop_api_url}
    return {name: httpx.AsyncClient(base_url=url, timeout=timeout) for name, url in urls.items()}


@dataclass
class Dispatcher:
    """Delivers one service's outbox to the services subscribed to each event."""

    db: Database
    table: type[OutboxEventFields]
    settings: CommonSettings
    source: str
    clients: Mapping[str, httpx.AsyncClient] = field(default_factory=dict)
    local: Mapping[str, LocalStop] = field(default_factory=dict)
    batch_size: int = 200
    workers: int = 4  # concurrent drains (PostgreSQL only)
    max_attempts: int = 50
    lease: dt.timedelta = dt.timedelta(seconds=60)

    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.clients:
            self.clients = service_clients(self.settings)
        on_outbox_commit(self.db, self.wake)

    def wake(self) -> None:
        """Look for due events now rather than after the idle pause (a transaction of this process added some)."""
        self._wakeup.set()

    def _token(self) -> str:
        return mint_service_token(self.settings, service=f"{self.source}_api")

    async def drain_once(self) -> int:
        """Claim one batch of due events and try to deliver each to its remaining subscribers; how many."""
        rows = await self._claim()
        if not rows:
            return 0
        failures: dict[str, str] = {}
        pending: dict[str, list[str]] = {row.id: list(row.destinations) for row in rows}
        by_destination: dict[str, list[OutboxEventFields]] = defaultdict(list)
        for row in rows:
            for destination in row.destinations:
                by_destination[destination].append(row)
        for destination in [d for d in by_destination if d in self.local]:
            batch = by_destination.pop(destination)
            error = await self._local_stop(destination, batch, pending)
            failures.update({row.id: f"{destination}: {error}"[:2000] for row in batch if error is not None})
        headers = {"Authorization": f"Bearer {self._token()}"}
        # Every destination at once: a batch waits for the slowest subscriber, not for the sum of them.
        destinations = list(by_destination)
        errors = await asyncio.gather(*(self._post(d, by_destination[d], headers) for d in destinations))
        for destination, error in zip(destinations, errors, strict=True):
            for row in by_destination[destination]:
                if error is None:
                    pending[row.id].remove(destination)
                else:
                    failures[row.id] = f"{destination}: {error}"[:2000]
        await self._record(rows, pending, failures)
        return len(rows)

    async def _claim(self) -> list[OutboxEventFields]:
        now, table = utcnow(), self.table
        claim = claim_statement(
            table,
            where=[table.status == "pending", col(table.available_at) <= now],
            values={"available_at": now + self.lease, "attempts": col(table.attempts) + 1},
            limit=self.batch_size,
            order_by=[col(table.available_at)],
            skip_locked=self.db.is_postgres,
        )
        async with self.db.sessions() as session, session.begin():
            result = await session.exec(claim)  # type: ignore[call-overload]
            rows: list[OutboxEventFields] = list(result.scalars().all())
        rows.sort(key=lambda r: (r.occurred_at, r.id))
        return rows

    async def _local_stop(
        self, destination: str, rows: list[OutboxEventFields], pending: dict[str, list[str]]
    ) -> str | None:
        """Run a local stop and tick it off its events in one transaction; on success `pending` loses it."""
        left = {row.id: [d for d in pending[row.id] if d != destination] for row in rows}
        now, core = utcnow(), self.table.__table__  # type: ignore[attr-defined]
        ticks = [
            {
                "row_id": row_id,
                "destinations": rest,
                "status": "pending" if rest else "delivered",
                "delivered_at": None if rest else now,
            }
            for row_id, rest in left.items()
        ]
        try:
            async with self.db.sessions() as session, session.begin():
                await self.local[destination](session, rows)
                await session.exec(update(core).where(core.c.id == bindparam("row_id")), params=ticks)  # type: ignore[call-overload]
        except Exception as exc:
            logger.exception("local stop %s failed", destination)
            return f"{type(exc).__name__}: {exc}"
        pending.update(left)
        return None

    async def _post(self, destination: str, rows: list[OutboxEventFields], headers: dict[str, str]) -> str | None:
        client = self.clients.get(destination)
        if client is None:
            return f"no client for {destination!r}"
        try:
            answer = await client.post(
                "/internal/v1/events", json={"events": [r.payload for r in rows]}, headers=headers
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if answer.status_code >= 300:
            return f"HTTP {answer.status_code}: {answer.text[:500]}"
        return None

    async def _record(
        self, rows: list[OutboxEventFields], pending: dict[str, list[str]], failures: dict[str, str]
    ) -> None:
        now, table = utcnow(), self.table
        changes: list[dict[str, Any]] = []
        for row in rows:
            left = pending[row.id]
            done = not left
            dead = not done and row.attempts >= self.max_attempts
            changes.append(
                {
                    "row_id": row.id,
                    "destinations": left,
                    "status": "delivered" if done else "dead" if dead else "pending",
                    "delivered_at": now if done else None,
                    "available_at": now if done else now + backoff(row.attempts),
                    "last_error": failures.get(row.id),
                }
            )
            if dead:
                logger.error("event %s dead after %d attempts: %s", row.id, row.attempts, failures.get(row.id))
        core = table.__table__  # type: ignore[attr-defined]
        statement = update(core).where(core.c.id == bindparam("row_id"))  # SET columns come from each row's params
        async with self.db.sessions() as session, session.begin():
            await session.exec(statement, params=changes)

    async def run(self, stop: asyncio.Event, idle_seconds: float = 0.5) -> None:
        """Drain until `stop` is set; errors are logged, not fatal.

        On PostgreSQL `workers` drains run at once (their claims skip each other's rows, as replicas' do), so
        events committed while a batch is being delivered leave at once instead of after it. A worker with
        nothing due pauses until a commit of this process stages new events; the first also polls every
        `idle_seconds` (for other replicas' events and retries that come due).
        """
        workers = self.workers if self.db.is_postgres else 1
        await asyncio.gather(*(self._work(stop, idle_seconds if i == 0 else None) for i in range(workers)))

    async def _work(self, stop: asyncio.Event, idle_seconds: float | None) -> None:
        while not stop.is_set():
            self._wakeup.clear()
            try:
                busy = await self.drain_once()
            except Exception:
                logger.exception("outbox dispatch failed; retrying")
                busy = 0
            if not busy:
                await pause(stop, self._wakeup, seconds=idle_seconds)

    async def close(self) -> None:
        """Close the HTTP clients."""
        for client in self.clients.values():
            await client.aclose()
