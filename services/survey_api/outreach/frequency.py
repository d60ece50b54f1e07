"""The contact-frequency rule and the other facts about earlier invitations, read in bulk per chunk.

A contact is not invited again within N days of being surveyed, whatever the survey: N is the survey's
`contact_frequency_days` when set, else the org's setting; 0 turns it off. Being surveyed is an invitation
that was not suppressed, counted from its creation (a scheduled one too: it will reach the contact), or any
response tied to the contact (a partner's too), counted from its `submitted_at` — so a backdated import of
old answers blocks nobody. The check is made when invitations are created, not again at send time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import or_, union
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey
from services.survey_api.models import OrgSettingsRow
from services.survey_api.org_settings import SurveyOrgSettings
from services.survey_api.outreach.invitations import FINAL
from services.survey_api.outreach.models import Invitation
from services.survey_api.responses.models import SurveyResponse
from shared.org_settings import load_org_settings


async def frequency_days(session: AsyncSession, survey: Survey) -> int:
    """N of the rule for this survey: its own override, else the org's setting (0 = off)."""
    if survey.contact_frequency_days is not None:
        return survey.contact_frequency_days
    settings = await load_org_settings(session, table=OrgSettingsRow, model=SurveyOrgSettings, org=survey.org)
    return settings.contact_frequency_days


async def recently_surveyed(
    session: AsyncSession, *, org: str, contact_ids: Collection[str], days: int, now: dt.datetime
) -> set[str]:
    """Which of these contacts were invited (not suppressed) or answered any survey in the last `days` days."""
    if days <= 0 or not contact_ids:
        return set()
    since = now - dt.timedelta(days=days)
    invited = select(Invitation.contact_id).where(
        Invitation.org == org,
        col(Invitation.contact_id).in_(contact_ids),
        Invitation.status != "suppressed",
        col(Invitation.created_at) > since,
    )
    answered = select(SurveyResponse.contact_id).where(
        SurveyResponse.org == org,
        col(SurveyResponse.contact_id).in_(contact_ids),
        col(SurveyResponse.submitted_at) > since,
    )
    rows = await session.exec(union(invited, answered))  # type: ignore[call-overload]
    return {contact_id for (contact_id,) in rows.all() if contact_id is not None}


async def open_invitations(
    session: AsyncSession, *, org: str, survey_id: str, contact_ids: Collection[str], now: dt.datetime
) -> set[str]:
    """Which of these contacts already hold an invitation to this survey that can still be answered."""
    if not contact_ids:
        return set()
    rows = await session.exec(
        select(Invitation.contact_id)
        .where(
            Invitation.org == org,
            Invitation.survey_id == survey_id,
            col(Invitation.contact_id).in_(contact_ids),
            col(Invitation.status).not_in(FINAL),
            or_(col(Invitation.expires_at).is_(None), col(Invitation.expires_at) > now),
        )
        .group_by(col(Invitation.contact_id))
    )
    return {contact_id for contact_id in rows.all() if contact_id is not None}
