"""`POST /internal/v1/events`: receive a batch of events at least once, process each exactly once (inbox).

A service's handlers live in one registry (`EventHandlers`): one handler per declared event type. Before a
handler runs, each event's payload is validated against its declared model. A malformed event is logged
(`cxloop.events`, with its id, type and the validation errors), recorded in the inbox and acknowledged:
retrying cannot fix it, and raising would make the sender retry the whole batch forever, so it never blocks
the outbox and the valid events of the same batch are processed as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import current_service
from shared.db import SessionDep, insert_ignoring_conflicts
from shared.errors import problem_responses
from shared.events import EventBatch, EventEnvelope, EventReceipt, EventType
from shared.outbox import InboxFields

logger = logging.getLogger("cxloop.events")
P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class Received(Generic[P]):
    """An event handed to a handler: its envelope and its payload, validated against the declared model."""

    envelope: EventEnvelope
    data: P


Handler = Callable[[AsyncSession, list[Received[P]]], Awaitable[None]]


class EventHandlers:
    """One service's event handlers: one per declared event type, registered once (`@handlers.on(TYPE)`).

    A batch's new events go to the handlers in the order they were registered, each handler getting the
    events of its types in the order they happened (a handler of several types gets them interleaved).
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._handlers: list[tuple[tuple[EventType[Any], ...], Handler[Any]]] = []

    def on(self, *types: EventType[P]) -> Callable[[Handler[P]], Handler[P]]:
        """Register the decorated function as the handler of `types` (each declared for this service)."""
        for spec in types:
            if self.service not in spec.consumers:
                raise ValueError(f"{spec.name} is not declared as consumed by {self.service}")
            if self.accepts(spec.name):
                raise ValueError(f"{spec.name} already has a handler in {self.service}")

        def register(handler: Handler[P]) -> Handler[P]:
            self._handlers.append((types, handler))
            return handler

        return register

    def accepts(self, event_type: str) -> bool:
        """Whether this service handles events of `event_type`."""
        return any(spec.matches(event_type) for types, _ in self._handlers for spec in types)

    async def handle(self, session: AsyncSession, events: list[EventEnvelope]) -> None:
        """Run each handler on its valid events of the batch; a malformed event is logged and skipped."""
        for types, handler in self._handlers:
            received = [_valid(spec, e) for e in events for spec in types if spec.matches(e.type)]
            valid = [r for r in received if r is not None]
            if valid:
                await handler(session, valid)


def _valid(spec: EventType[P], event: EventEnvelope) -> Received[P] | None:
    """The event with its payload validated, or None (logged) when the payload does not fit the declaration."""
    try:
        return Received(event, spec.payload.model_validate(event.data))
    except ValidationError as exc:
        logger.error("skipping malformed %s event %s: %s", event.type, event.id, exc)
        return None


def wanted(event_type: str, accepts: Collection[str]) -> bool:
    """Whether a type is in `accepts` (exact types, or prefixes ending in `.`)."""
    return any(event_type == a or (a.endswith(".") and event_type.startswith(a)) for a in accepts)


async def _claim_new(session: AsyncSession, inbox: type[InboxFields], events: list[EventEnvelope]) -> set[str]:
    """Record the events not seen before in the inbox; the ids that are ours to process now."""
    ids = {e.id for e in events}
    seen = set((await session.exec(select(inbox.event_id).where(col(inbox.event_id).in_(ids)))).all())
    fresh = {e.id: e for e in events if e.id not in seen}
    if not fresh:
        return set()
    rows = [{"event_id": e.id, "event_type": e.type, "org": e.org} for e in fresh.values()]
    statement = insert_ignoring_conflicts(session, inbox.__table__, conflict_columns=["event_id"])  # type: ignore[attr-defined]
    # A concurrent delivery of the same event blocks here until it commits, then inserts nothing: a duplicate.
    inserted = await session.exec(statement.returning(inbox.__table__.c.event_id), params=rows)  # type: ignore[attr-defined]
    return {row[0] for row in inserted.all()}


def events_router(*, inbox: type[InboxFields], handlers: EventHandlers) -> APIRouter:
    """The consumer endpoint of a service: dedupe by event id, then hand the new wanted events to `handlers`."""
    router = APIRouter(prefix="/internal/v1", tags=["internal"], responses=problem_responses(401, 403, 422))

    @router.post("/events", response_model=EventReceipt, dependencies=[Depends(current_service)])
    async def receive_events(batch: EventBatch, session: SessionDep) -> EventReceipt:
        """Events from another service's outbox (service tokens only); a repeat is harmless, order is not assumed."""
        unique = list({e.id: e for e in batch.events}.values())
        relevant = [e for e in unique if handlers.accepts(e.type)]
        mine = await _claim_new(session, inbox, relevant)
        fresh = [e for e in relevant if e.id in mine]
        if fresh:
            await handlers.handle(session, fresh)
        return EventReceipt(
            processed=len(fresh),
            duplicates=len(batch.events) - len(unique) + len(relevant) - len(fresh),
            ignored=len(unique) - len(relevant),
        )

    return router
