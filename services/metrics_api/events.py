"""The events metrics_api consumes, and the one handler of each (the types are declared in shared/events.py).

Erasures run first within a batch, so the copies of an erased contact's responses in the same batch are
stored anonymised.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.ingest import Zones, apply_erasures, apply_invitations, apply_responses
from services.metrics_api.outcomes import apply_outcomes, erase_outcomes
from services.metrics_api.themes.facts import apply_erasures as erase_comments
from shared.consumer import EventHandlers, Received
from shared.events import (
    CONTACT_ERASED_EVENT,
    INVITATION_EVENT,
    OUTCOME_RECORDED_EVENT,
    RESPONSE_COMPLETED_EVENT,
    RESPONSE_UPDATED_EVENT,
    ContactErasedData,
    InvitationData,
    OutcomeRecordedData,
    ResponseData,
)

handlers = EventHandlers("metrics")


@handlers.on(CONTACT_ERASED_EVENT)
async def on_contact_erased(session: AsyncSession, events: list[Received[ContactErasedData]]) -> None:
    """Drop the erased contacts' personal data from the facts, and their outcomes and comments."""
    await apply_erasures(session, events)
    await erase_outcomes(session, events)
    await erase_comments(session, events)


@handlers.on(RESPONSE_COMPLETED_EVENT, RESPONSE_UPDATED_EVENT)
async def on_response(session: AsyncSession, events: list[Received[ResponseData]]) -> None:
    """Replace each response's facts with its newest state (both types at once: the newest wins)."""
    await apply_responses(session, events, Zones(session))


@handlers.on(INVITATION_EVENT)
async def on_invitation(session: AsyncSession, events: list[Received[InvitationData]]) -> None:
    """Record each invitation's progress."""
    await apply_invitations(session, events, Zones(session))


@handlers.on(OUTCOME_RECORDED_EVENT)
async def on_outcome(session: AsyncSession, events: list[Received[OutcomeRecordedData]]) -> None:
    """Keep each outcome for value linkage (not those of erased contacts)."""
    await apply_outcomes(session, events)
