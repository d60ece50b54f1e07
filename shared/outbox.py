"""The outbox table's fields and how a change records an event in its own transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, JSONType, UTCDateTime, utcnow
from shared.events import EventEnvelope, subscribers_of
from shared.rawsql import copy_rows, driver_of, insert_sql

_STAGED = "cxloop.outbox_staged"  # session.info flag: this transaction added outbox rows to deliver
_LISTENERS = "cxloop.outbox_listeners"  # Database.info: who to wake after such a commit


def on_outbox_commit(db: Database, listener: Callable[[], None]) -> None:
    """Call `listener` (a dispatcher's wake-up) after each commit of a session of `db` that staged events."""
    db.info.setdefault(_LISTENERS, []).append(listener)


@event.listens_for(Session, "after_commit")
def _outbox_committed(session: Session) -> None:
    if session.info.pop(_STAGED, False):
        for listener in session.info.get(_LISTENERS, ()):
            listener()


@event.listens_for(Session, "after_rollback")
def _outbox_rolled_back(session: Session) -> None:
    session.info.pop(_STAGED, None)


class OutboxEventFields(SQLModel):
    """Columns of a service's `outbox` table; each service declares the table on its own base.

    `local_destinations` are stops inside the producing service itself (its outgoing webhooks' fan-out),
    delivered by the same dispatcher, with the same retries, as the other services.
    """

    local_destinations: ClassVar[tuple[str, ...]] = ()

    id: str = Field(primary_key=True, max_length=64)
    org: str = Field(max_length=100)
    event_type: str = Field(max_length=100)
    source: str = Field(max_length=50)
    occurred_at: dt.datetime = Field(sa_type=UTCDateTime)
    payload: dict[str, Any] = Field(sa_type=JSONType)
    destinations: list[str] = Field(default_factory=list, sa_type=JSONType)  # still to deliver to
    status: str = Field(default="pending", max_length=20, index=True)
    attempts: int = 0
    available_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)


class InboxFields(SQLModel):
    """Columns of a service's `inbox` table: the ids of the events it has processed (so a repeat is harmless)."""

    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=100)
    org: str = Field(max_length=100)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def outbox_row(table: type[OutboxEventFields], envelope: EventEnvelope) -> dict[str, Any]:
    """The outbox columns of `envelope`: to every subscriber of its type and the table's local stops."""
    destinations = [*subscribers_of(envelope.type), *table.local_destinations]
    return {
        "id": envelope.id,
        "org": envelope.org,
        "event_type": envelope.type,
        "source": envelope.source,
        "occurred_at": envelope.occurred_at,
        "payload": envelope.model_dump(mode="json"),
        "destinations": destinations,
        "status": "pending" if destinations else "delivered",
        "attempts": 0,
        "available_at": utcnow(),
        "delivered_at": None,
        "last_error": None,
    }


def add_event(session: AsyncSession, table: type[OutboxEventFields], envelope: EventEnvelope) -> None:
    """Stage `envelope` in the outbox of the current transaction: it is sent only if the change commits."""
    row = outbox_row(table, envelope)
    if row["destinations"]:
        session.info[_STAGED] = True  # the dispatcher of this process looks at once after the commit
    session.add(table(**row))


async def insert_events(session: AsyncSession, table: type[OutboxEventFields], envelopes: list[EventEnvelope]) -> None:
    """Write many events to the outbox of the current transaction in one statement (no ORM objects)."""
    rows = [outbox_row(table, envelope) for envelope in envelopes]
    if not rows:
        return
    if any(row["destinations"] for row in rows):
        session.info[_STAGED] = True
    await session.exec(insert(table.__table__), params=rows)  # type: ignore[attr-defined, call-overload]


async def insert_events_raw(
    session: AsyncSession, table: type[OutboxEventFields], envelopes: list[EventEnvelope]
) -> None:
    """`insert_events` on the driver connection under the session (the single-response hot path)."""
    rows = [outbox_row(table, envelope) for envelope in envelopes]
    if not rows:
        return
    if any(row["destinations"] for row in rows):
        session.info[_STAGED] = True
    driver = await driver_of(session)
    columns: Table = table.__table__  # type: ignore[attr-defined]
    names = tuple(rows[0])
    sql, raw = insert_sql(columns, driver.dialect, names), driver.table(columns)
    for row in rows:
        await driver.execute(sql, raw.values(names, row))


async def copy_events(session: AsyncSession, table: type[OutboxEventFields], envelopes: list[EventEnvelope]) -> None:
    """`insert_events` as one COPY (PostgreSQL; a batch's hot path), or the multi-row INSERT elsewhere."""
    driver = await driver_of(session)
    if not driver.is_postgres:
        await insert_events(session, table, envelopes)
        return
    rows = [outbox_row(table, envelope) for envelope in envelopes]
    if any(row["destinations"] for row in rows):
        session.info[_STAGED] = True
    await copy_rows(driver, table.__table__, rows)  # type: ignore[attr-defined]
