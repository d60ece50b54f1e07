"""Invitation tokens and the invitation status machine; every status a metric needs is an outbox event.

A token is 256 bits from `secrets`, URL-safe; only its SHA-256 is stored, so a database dump reveals no
usable link. Status: scheduled → sent → delivered | bounced → opened → started → completed; expired;
suppressed (never sent, with a reason). Steps may be skipped forward (a link opened with no delivery
receipt), never backward.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey
from services.survey_api.models import OutboxEvent
from services.survey_api.outreach.models import Invitation
from shared import events as ev
from shared.db import utcnow
from shared.outbox import add_event

TOKEN_BYTES = 32
DEFAULT_EXPIRY = dt.timedelta(days=30)
ORDER = ("scheduled", "sent", "delivered", "displayed", "opened", "started", "completed")
FINAL = frozenset({"completed", "bounced", "expired", "suppressed"})
_TIMESTAMP_OF = {
    "sent": "sent_at",
    "delivered": "delivered_at",
    "opened": "opened_at",
    "started": "started_at",
    "completed": "completed_at",
    "bounced": "bounced_at",
}


def new_token() -> tuple[str, str]:
    """A fresh invitation token and the hash that is stored in its place."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """The stored form of a token (SHA-256, hex): a capability is checked without keeping it."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(public_url: str, token: str) -> str:
    """The respondent's link to the hosted survey page."""
    return f"{public_url.rstrip('/')}/r/{token}"


async def find_by_token(session: AsyncSession, token: str) -> Invitation | None:
    """The invitation a token opens (any status; the caller decides what an expired or used one shows)."""
    if not token or len(token) > 100:
        return None
    found = await session.exec(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    return found.first()


def is_open(invitation: Invitation, now: dt.datetime) -> bool:
    """Whether the invitation can still be answered: not final and not past its expiry."""
    if invitation.status in FINAL:
        return False
    return invitation.expires_at is None or invitation.expires_at > now


def _advances(current: str, target: str) -> bool:
    if current in FINAL:
        return False
    if target in ("bounced", "expired"):
        return current in ("scheduled", "sent") or target == "expired"
    if target not in ORDER or current not in ORDER:
        return False
    return ORDER.index(target) > ORDER.index(current)


def advance(
    session: AsyncSession,
    invitation: Invitation,
    status: str,
    *,
    survey: Survey | None = None,
    now: dt.datetime | None = None,
    response_id: str | None = None,
) -> bool:
    """Move an invitation forward to `status` and write its `invitation.<status>` event; False if not a step."""
    if not _advances(invitation.status, status):
        return False
    now = now or utcnow()
    invitation.status, invitation.updated_at = status, now
    stamp = _TIMESTAMP_OF.get(status)
    if stamp is not None:
        setattr(invitation, stamp, now)
    if status == "displayed":  # an intercept that was shown has reached its respondent
        invitation.delivered_at = invitation.delivered_at or now
    if response_id is not None:
        invitation.response_id = response_id
    session.add(invitation)
    data = ev.InvitationData(
        invitation_id=invitation.id,
        distribution_id=invitation.distribution_id,
        survey_id=invitation.survey_id,
        channel=invitation.channel,
        contact_id=invitation.contact_id,
        unit=invitation.unit,
        touchpoint_id=survey.touchpoint_id if survey is not None else None,
        status=status,
        at=now,
        response_id=invitation.response_id,
    )
    envelope = ev.INVITATION_EVENT.envelope(org=invitation.org, data=data, event_type=ev.invitation_event_type(status))
    add_event(session, OutboxEvent, envelope)
    return True
