"""Unsubscribing through an invitation's link: its contact gets no more invitations (`Contact.unsubscribed_at`).

The link works for as long as the invitation exists, answered or expired: an unsubscribe link must not stop
working. Opening it only asks to confirm; the POST (the form, or a mail client's RFC 8058 one-click POST of
`List-Unsubscribe=One-Click`) unsubscribes. Unsubscribing twice keeps the first time.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.contacts.models import Contact
from services.survey_api.respondent.answering import find_invitation
from services.survey_api.respondent.i18n import FALLBACK, ui_language
from shared.db import utcnow
from shared.errors import NotFound


async def find_contact(session: AsyncSession, token: str) -> tuple[Contact, str]:
    """The contact a link unsubscribes, and the language of its pages; 404 without an invitation or contact."""
    invitation = await find_invitation(session, token)
    contact = await session.get(Contact, invitation.contact_id) if invitation.contact_id else None
    if contact is None:
        raise NotFound("This link has no contact to unsubscribe")
    return contact, ui_language(invitation.language or contact.locale or FALLBACK)


async def unsubscribe(session: AsyncSession, token: str) -> tuple[Contact, str]:
    """Unsubscribe the contact of a link (once; an erased contact stays as it is) and say in which language."""
    contact, language = await find_contact(session, token)
    if contact.unsubscribed_at is None and contact.erased_at is None:
        now = utcnow()
        contact.unsubscribed_at, contact.updated_at = now, now
        session.add(contact)
    return contact, language
