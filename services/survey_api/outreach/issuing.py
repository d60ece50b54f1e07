"""Creating one invitation, shared by distributions and triggers: its row, its token hash, its first steps.

A new invitation starts `scheduled`. Channels that nobody sends are handed out at once: `link` becomes
`sent` and `delivered` (the caller holds the link), `web` and `in_app` become `sent` and wait for a display
(`POST /v1/invitations/{id}/display`) to count as delivered. `email` and `sms` stay `scheduled` with
`next_attempt_at` = the send time, for the sender.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey, SurveyVersion
from services.survey_api.contacts.models import Contact
from services.survey_api.outreach.eligibility import language_for
from services.survey_api.outreach.invitations import advance
from services.survey_api.outreach.links import token_hash_for
from services.survey_api.outreach.models import Invitation
from services.survey_api.settings import SurveySettings
from shared.ids import new_id

SENT_CHANNELS = frozenset({"email", "sms"})


@dataclass(frozen=True)
class Issue:
    """What every invitation of one distribution (or one trigger) shares."""

    settings: SurveySettings
    survey: Survey
    version: SurveyVersion
    channel: str
    send_at: dt.datetime
    expires_at: dt.datetime
    now: dt.datetime
    distribution_id: str | None = None


def new_invitation(
    issue: Issue, contact: Contact, *, reason: str | None = None, interaction_id: str | None = None
) -> Invitation:
    """A new invitation row for `contact`: `scheduled`, or `suppressed` with its reason (then no token)."""
    invitation_id = new_id("inv")
    suppressed = reason is not None
    return Invitation(
        id=invitation_id,
        org=issue.survey.org,
        distribution_id=issue.distribution_id,
        survey_id=issue.survey.id,
        contact_id=contact.id,
        channel=issue.channel,
        status="suppressed" if suppressed else "scheduled",
        reason=reason,
        token_hash=None if suppressed else token_hash_for(issue.settings, invitation_id),
        language=language_for(contact.locale, issue.version.languages, issue.version.default_language),
        unit=contact.unit,
        interaction_id=interaction_id,
        expires_at=None if suppressed else issue.expires_at,
        next_attempt_at=issue.send_at if not suppressed and issue.channel in SENT_CHANNELS else None,
        created_at=issue.now,
        updated_at=issue.now,
    )


def hand_out(session: AsyncSession, issue: Issue, invitation: Invitation) -> None:
    """The first steps of a channel nobody sends (events included); email and sms wait for the sender."""
    if invitation.status != "scheduled" or invitation.channel in SENT_CHANNELS:
        return
    advance(session, invitation, "sent", survey=issue.survey, now=issue.now)
    if invitation.channel == "link":
        advance(session, invitation, "delivered", survey=issue.survey, now=issue.now)


def created_status(invitation: Invitation) -> str:
    """What creating the invitation did: `suppressed`, `scheduled` (email, sms) or `sent` (handed out)."""
    if invitation.status == "suppressed":
        return "suppressed"
    return "scheduled" if invitation.channel in SENT_CHANNELS else "sent"
