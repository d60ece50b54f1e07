"""Triggers: an interaction at a touchpoint invites its contact, in the moment, to the touchpoint's survey.

The survey is the newest published active survey whose published version listens at the touchpoint. The
contact is upserted first. Sampling is decided by a hash of the org and `interaction_id`, so a retry gets
the same decision; the other suppression rules are those of distributions. Every outcome — a sampled-out
or suppressed one too — is stored under the org's unique `interaction_id`, so a repeat answers the first
result (200) and never creates a second invitation, even when two copies arrive at the same moment.
The invitation expires 30 days after the interaction; one older than that is refused (422).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import Table, and_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey, SurveyVersion
from services.survey_api.catalog.touchpoints import find_touchpoint
from services.survey_api.contacts.directory import upsert_contact
from services.survey_api.contacts.models import Contact
from services.survey_api.outreach.eligibility import invitation_reason
from services.survey_api.outreach.frequency import frequency_days, open_invitations, recently_surveyed
from services.survey_api.outreach.invitations import DEFAULT_EXPIRY
from services.survey_api.outreach.issuing import Issue, created_status, hand_out, new_invitation
from services.survey_api.outreach.links import links_for
from services.survey_api.outreach.models import Invitation
from services.survey_api.outreach.schemas import TriggerCreate, TriggerResult
from services.survey_api.settings import SurveySettings
from shared.auth import Principal
from shared.db import insert_ignoring_conflicts, utcnow
from shared.errors import Conflict, NotFound, invalid

INVITATIONS: Table = Invitation.__table__  # type: ignore[attr-defined]


def sampled_in(org: str, interaction_id: str, percent: float) -> bool:
    """Whether this interaction falls in the sample: the same answer for the same interaction, every time."""
    digest = hashlib.sha256(f"{org}\x00{interaction_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64 * 100  # uniform in [0, 100)
    return position < percent


async def listening_survey(session: AsyncSession, *, org: str, touchpoint_id: str) -> tuple[Survey, SurveyVersion]:
    """The newest active survey whose published version listens at the touchpoint; 409 when there is none."""
    published = and_(
        col(SurveyVersion.survey_id) == col(Survey.id), col(SurveyVersion.version) == col(Survey.published_version)
    )
    statement = (
        select(Survey, SurveyVersion)
        .join(SurveyVersion, published)
        .where(Survey.org == org, Survey.status == "active", SurveyVersion.touchpoint_id == touchpoint_id)
        .order_by(col(SurveyVersion.published_at).desc(), col(Survey.id).desc())
        .limit(1)
    )
    found = (await session.exec(statement)).first()
    if found is None:
        raise Conflict(f"No active survey listens at touchpoint {touchpoint_id!r}; publish one bound to it")
    return found


def result_of(settings: SurveySettings, invitation: Invitation) -> TriggerResult:
    """The answer of a trigger, the same every time it is asked for (the link is derived again)."""
    status = created_status(invitation)
    links = links_for(settings, invitation.id) if status != "suppressed" else None
    return TriggerResult.model_validate(
        {
            "invitation_id": invitation.id,
            "interaction_id": invitation.interaction_id,
            "survey_id": invitation.survey_id,
            "contact_id": invitation.contact_id,
            "channel": invitation.channel,
            "status": status,
            "reason": invitation.reason,
            "url": links.url if links else None,
            "token": links.token if links else None,
            "expires_at": invitation.expires_at,
            "created_at": invitation.created_at,
        }
    )


async def _existing(session: AsyncSession, org: str, interaction_id: str) -> Invitation | None:
    statement = select(Invitation).where(Invitation.org == org, Invitation.interaction_id == interaction_id)
    return (await session.exec(statement.execution_options(populate_existing=True))).first()


async def _reason(session: AsyncSession, issue: Issue, contact: Contact, data: TriggerCreate) -> str | None:
    if not sampled_in(issue.survey.org, data.interaction_id, data.sampling_percent):
        return "sampled_out"
    org, ids, now = issue.survey.org, {contact.id}, issue.now
    days = await frequency_days(session, issue.survey)
    recent = await recently_surveyed(session, org=org, contact_ids=ids, days=days, now=now)
    already = await open_invitations(session, org=org, survey_id=issue.survey.id, contact_ids=ids, now=now)
    return invitation_reason(contact, issue.channel, repeated=False, open_for_survey=already, recent=recent)


async def _issue(
    session: AsyncSession, settings: SurveySettings, data: TriggerCreate, org: str, now: dt.datetime
) -> Issue:
    if await find_touchpoint(session, org=org, touchpoint_id=data.touchpoint_id) is None:
        raise NotFound(f"No touchpoint {data.touchpoint_id!r}")
    expires_at = min(data.occurred_at or now, now) + DEFAULT_EXPIRY
    if expires_at <= now:
        raise invalid("occurred_at", f"more than {DEFAULT_EXPIRY.days} days ago: too late to ask", "too_old")
    survey, version = await listening_survey(session, org=org, touchpoint_id=data.touchpoint_id)
    return Issue(settings, survey, version, data.channel, send_at=now, expires_at=expires_at, now=now)


async def trigger(
    *,
    session: AsyncSession,
    principal: Principal,
    settings: SurveySettings,
    data: TriggerCreate,
    now: dt.datetime | None = None,
) -> tuple[TriggerResult, bool]:
    """The invitation (or suppression) for an interaction, and whether this call created it."""
    now = now or utcnow()
    existing = await _existing(session, principal.org, data.interaction_id)
    if existing is not None:
        return result_of(settings, existing), False
    issue = await _issue(session, settings, data, principal.org, now)
    contact, _ = await upsert_contact(session=session, principal=principal, data=data.contact)
    draft = new_invitation(
        issue, contact, reason=await _reason(session, issue, contact, data), interaction_id=data.interaction_id
    )
    insert = insert_ignoring_conflicts(session, INVITATIONS, conflict_columns=["org", "interaction_id"])
    inserted = (await session.exec(insert.values(**draft.model_dump()).returning(INVITATIONS.c.id))).first()  # type: ignore[call-overload]
    invitation = await _existing(session, principal.org, data.interaction_id)
    assert invitation is not None  # ours, or the one a concurrent copy of this trigger stored first
    if inserted is None:
        return result_of(settings, invitation), False
    hand_out(session, issue, invitation)
    await session.flush()
    return result_of(settings, invitation), True
