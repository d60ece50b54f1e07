"""The events loop_api consumes, and the one handler of each (the types are declared in shared/events.py).

Responses run before erasures within a batch, so a contact erased in the same batch as their response
leaves an anonymised case, never one with personal data.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.followup import record_invitation, track_invitations
from services.loop_api.cases.intake import OrgContext, erase_contact, take_response
from services.loop_api.clock import Clock
from shared.consumer import EventHandlers, Received
from shared.events import (
    CONTACT_ERASED_EVENT,
    FOLLOWUP_INVITED_EVENT,
    INVITATION_EVENT,
    RESPONSE_COMPLETED_EVENT,
    RESPONSE_UPDATED_EVENT,
    ContactErasedData,
    FollowupInvitedData,
    InvitationData,
    ResponseData,
)


def event_handlers(clock: Clock, max_age: dt.timedelta) -> EventHandlers:
    """loop_api's handlers; responses older than `max_age` (a historic import) open no case."""
    handlers = EventHandlers("loop")

    @handlers.on(RESPONSE_COMPLETED_EVENT, RESPONSE_UPDATED_EVENT)
    async def on_response(session: AsyncSession, events: list[Received[ResponseData]]) -> None:
        cache: dict[str, OrgContext] = {}  # the rules and settings of each org, read once per batch
        for event in events:
            org = event.envelope.org
            await take_response(session, org=org, response=event.data, max_age=max_age, cache=cache, now=clock.now())

    @handlers.on(CONTACT_ERASED_EVENT)
    async def on_contact_erased(session: AsyncSession, events: list[Received[ContactErasedData]]) -> None:
        for event in events:
            await erase_contact(session, event.envelope.org, event.data, clock.now())

    # `followup.invited` runs before the `invitation.*` steps of a batch: a step finds the case it belongs to.
    @handlers.on(FOLLOWUP_INVITED_EVENT)
    async def on_followup_invited(session: AsyncSession, events: list[Received[FollowupInvitedData]]) -> None:
        for event in events:
            await record_invitation(session, event.envelope.org, event.data, clock.now())

    @handlers.on(INVITATION_EVENT)
    async def on_invitation(session: AsyncSession, events: list[Received[InvitationData]]) -> None:
        by_org: dict[str, list[InvitationData]] = {}
        for event in events:
            by_org.setdefault(event.envelope.org, []).append(event.data)
        for org, steps in by_org.items():
            await track_invitations(session, org, steps, clock.now())

    return handlers
