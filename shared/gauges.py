"""Business and pipeline gauges for Prometheus, read from the service's own tables when `/metrics` is scraped."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Text, func
from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, utcnow
from shared.outbox import OutboxEventFields
from shared.webhooks.tables import WebhookFields

logger = logging.getLogger("cxloop.gauges")
REFRESH_SECONDS = 15.0  # several scrapers (or replicas' proxies) within this reuse one reading


@dataclass(frozen=True)
class Reading:
    """One sample of a gauge: its name, help text, labels and value."""

    name: str
    help: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


GaugeSource = Callable[[AsyncSession], Awaitable[list[Reading]]]


def outbox_gauges(table: type[OutboxEventFields]) -> GaugeSource:
    """Pending and dead events per destination, and the age of the oldest pending one (the status index)."""
    status: ColumnElement[str] = table.status  # type: ignore[assignment]
    occurred: ColumnElement[dt.datetime] = table.occurred_at  # type: ignore[assignment]
    destinations = func.cast(col(table.destinations), Text)

    async def read(session: AsyncSession) -> list[Reading]:
        query = (
            select(status, destinations, func.count(), func.min(occurred))
            .where(status.in_(("pending", "dead")))
            .group_by(status, destinations)
        )
        counts: dict[tuple[str, str], int] = {}
        oldest: dict[str, dt.datetime] = {}
        for row_status, row_destinations, count, first in (await session.exec(query)).all():
            for destination in json.loads(row_destinations or "[]") or ["none"]:
                counts[(destination, row_status)] = counts.get((destination, row_status), 0) + count
                if row_status == "pending" and first is not None:
                    first = first if first.tzinfo else first.replace(tzinfo=dt.UTC)
                    oldest[destination] = min(oldest.get(destination, first), first)
        now = utcnow()
        readings = [
            Reading(
                "cxloop_outbox_events",
                "Outbox events not delivered, per destination and status",
                n,
                dict(destination=d, status=s),
            )
            for (d, s), n in sorted(counts.items())
        ]
        readings += [
            Reading(
                "cxloop_outbox_oldest_pending_seconds",
                "Age of the oldest pending outbox event, per destination",
                max(0.0, (now - first).total_seconds()),
                {"destination": d},
            )
            for d, first in sorted(oldest.items())
        ]
        return readings

    return read


def webhook_gauges(table: type[WebhookFields]) -> GaugeSource:
    """Webhooks by state: active, failing (deliveries failing since some time) and disabled."""

    async def read(session: AsyncSession) -> list[Reading]:
        active: ColumnElement[bool] = table.active  # type: ignore[assignment]
        failing = table.failing_since.is_not(None)  # type: ignore[union-attr]
        query = select(active, failing, func.count()).group_by(active, failing)
        states = {"active": 0, "failing": 0, "disabled": 0}
        for is_active, is_failing, count in (await session.exec(query)).all():
            state = "disabled" if not is_active else "failing" if is_failing else "active"
            states[state] += count
        return [Reading("cxloop_webhooks", "Webhooks by state", n, {"state": s}) for s, n in states.items()]

    return read


class BusinessGauges:
    """Refreshes the gauges of `sources` into `registry`, at most every REFRESH_SECONDS."""

    def __init__(self, *, registry: CollectorRegistry, db: Database, sources: Sequence[GaugeSource]) -> None:
        self.registry = registry
        self.db = db
        self.sources = list(sources)
        self.gauges: dict[str, Gauge] = {}
        self.read_at = float("-inf")
        self.up = Gauge("cxloop_business_metrics_up", "1 when the last reading of the tables worked", registry=registry)

    async def refresh(self) -> None:
        """Read every source in one session and replace the gauges' samples (stale label sets disappear)."""
        if not self.sources or time.monotonic() - self.read_at < REFRESH_SECONDS:
            return
        readings: list[Reading] = []
        try:
            async with self.db.sessions() as session:
                for source in self.sources:
                    readings += await source(session)
        except Exception:
            logger.warning("reading the business metrics failed", exc_info=True)
            self.up.set(0)
            return
        self.read_at = time.monotonic()
        self.up.set(1)
        for gauge in self.gauges.values():
            if gauge._labelnames:  # an unlabelled gauge is simply set again
                gauge.clear()
        for reading in readings:
            gauge = self._gauge(reading)
            (gauge.labels(**reading.labels) if reading.labels else gauge).set(reading.value)

    def _gauge(self, reading: Reading) -> Gauge:
        if reading.name not in self.gauges:
            labels = sorted(reading.labels)
            self.gauges[reading.name] = Gauge(reading.name, reading.help, labels, registry=self.registry)
        return self.gauges[reading.name]
