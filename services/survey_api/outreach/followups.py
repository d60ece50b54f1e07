"""Case follow-ups: when loop_api closes a case with the customer reached, ask them again.

loop_api sends `followup.requested`; survey_api answers it with an invitation to the org's follow-up survey
(the `followup_survey_id` org setting, or a built-in "Case follow-up" survey made and published on first
use; both have `purpose: followup`, which keeps their answers out of the org's metrics), over
`followup_channel` (auto: email, else SMS, else a link). The contact-frequency rule does not apply: the
customer was just promised this question. Consent, unsubscribe and erasure still do.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey, SurveyVersion
from services.survey_api.catalog.questions import Question
from services.survey_api.catalog.surveys import answerable_version
from services.survey_api.contacts.models import Contact
from services.survey_api.models import OrgSettingsRow, OutboxEvent
from services.survey_api.org_settings import SurveyOrgSettings
from services.survey_api.outreach.eligibility import personal_reason
from services.survey_api.outreach.issuing import Issue, hand_out, new_invitation
from services.survey_api.settings import SurveySettings
from shared.consumer import EventHandlers, Received
from shared.db import utcnow
from shared.errors import CxloopError
from shared.events import (
    FOLLOWUP_INVITED_EVENT,
    FOLLOWUP_REQUESTED_EVENT,
    EventEnvelope,
    FollowupInvitedData,
    FollowupRequestedData,
)
from shared.ids import new_id
from shared.org_settings import load_org_settings
from shared.outbox import add_event

logger = logging.getLogger("cxloop.followups")
FOLLOWUP_EXPIRY = dt.timedelta(days=14)
BUILT_IN_NAME = "Case follow-up"
BUILT_IN_QUESTIONS = [
    Question.model_validate(q).model_dump(mode="json")
    for q in (
        {
            "key": "resolved",
            "kind": "single_choice",
            "required": True,
            "prompt": {"en": "Was your issue resolved?", "de": "Wurde Ihr Anliegen gelöst?"},
            "options": [
                {"code": "yes", "label": {"en": "Yes", "de": "Ja"}},
                {"code": "no", "label": {"en": "No", "de": "Nein"}},
            ],
        },
        {
            "key": "nps",
            "kind": "nps",
            "required": True,
            "prompt": {
                "en": "How likely are you now to recommend us to a friend?",
                "de": "Wie wahrscheinlich würden Sie uns jetzt weiterempfehlen?",
            },
        },
    )
]


async def _built_in_survey(session: AsyncSession, org: str, now: dt.datetime) -> tuple[Survey, SurveyVersion]:
    """The org's built-in follow-up survey, made and published now, and remembered in its settings."""
    fields: dict[str, Any] = {
        "org": org,
        "name": BUILT_IN_NAME,
        "kind": "transactional",
        "audience": "customers",
        "languages": ["en", "de"],
        "default_language": "en",
        "questions": BUILT_IN_QUESTIONS,
    }
    survey = Survey(
        id=new_id("survey"), status="active", purpose="followup", published_version=1, published_at=now, **fields
    )
    version = SurveyVersion(id=new_id("sver"), survey_id=survey.id, version=1, published_at=now, **fields)
    session.add(survey)
    await session.flush()
    session.add(version)
    row = await session.get(OrgSettingsRow, org)
    document = {**(row.data if row else {}), "followup_survey_id": survey.id}
    if row is None:
        session.add(OrgSettingsRow(org=org, data=document))
    else:
        row.data, row.updated_at = document, now
        session.add(row)
    return survey, version


async def _survey_for(
    session: AsyncSession, org: str, chosen: str | None, now: dt.datetime
) -> tuple[Survey, SurveyVersion]:
    if chosen is not None:
        try:
            return await answerable_version(session=session, org=org, survey_id=chosen)
        except CxloopError:
            logger.warning("follow-up survey %s of %s is not active; using the built-in one", chosen, org)
    found = await session.exec(
        select(Survey).where(
            Survey.org == org, Survey.name == BUILT_IN_NAME, Survey.purpose == "followup", Survey.status == "active"
        )
    )
    survey = found.first()
    if survey is not None:
        return await answerable_version(session=session, org=org, survey_id=survey.id)
    return await _built_in_survey(session, org, now)


def _channel(contact: Contact, preferred: str) -> str:
    if preferred != "auto":
        return preferred
    return "email" if contact.email else "sms" if contact.phone else "link"


async def follow_up(session: AsyncSession, settings: SurveySettings, event: EventEnvelope) -> str | None:
    """Invite the contact of a closed case to the follow-up survey; the invitation's status (None: no contact)."""
    contact = await session.get(Contact, str(event.data.get("contact_id")))
    case_id = str(event.data.get("case_id"))
    if contact is None or contact.org != event.org or contact.erased_at is not None:
        logger.info("follow-up for case %s: contact gone, nothing sent", case_id)
        _tell_loop(session, event.org, FollowupInvitedData(case_id=case_id, invitation_id=None, status="not_sent"))
        return None
    org_settings = await load_org_settings(session, table=OrgSettingsRow, model=SurveyOrgSettings, org=event.org)
    now = utcnow()
    survey, version = await _survey_for(session, event.org, org_settings.followup_survey_id, now)
    channel = _channel(contact, org_settings.followup_channel)
    issue = Issue(settings, survey, version, channel, send_at=now, expires_at=now + FOLLOWUP_EXPIRY, now=now)
    invitation = new_invitation(issue, contact, reason=personal_reason(contact, channel))
    session.add(invitation)
    await session.flush()
    hand_out(session, issue, invitation)
    invited = FollowupInvitedData(
        case_id=case_id, invitation_id=invitation.id, status=invitation.status, sent_at=invitation.sent_at
    )
    _tell_loop(session, event.org, invited)
    return invitation.status


def _tell_loop(session: AsyncSession, org: str, data: FollowupInvitedData) -> None:
    """Stage `followup.invited`: loop_api shows the invitation (and its later steps) on the case."""
    add_event(session, OutboxEvent, FOLLOWUP_INVITED_EVENT.envelope(org=org, data=data))


def event_handlers(settings: SurveySettings) -> EventHandlers:
    """survey_api's event handlers (it consumes `followup.requested`), for this survey_api's settings."""
    handlers = EventHandlers("survey")

    @handlers.on(FOLLOWUP_REQUESTED_EVENT)
    async def on_followup_requested(session: AsyncSession, events: list[Received[FollowupRequestedData]]) -> None:
        for event in events:
            await follow_up(session, settings, event.envelope)

    return handlers
