"""survey_api's business gauges on /metrics: invitations by channel and status (sent, bounced, …)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.outreach.models import Invitation
from shared.gauges import Reading


async def invitation_gauges(session: AsyncSession) -> list[Reading]:
    """Invitations per channel and status, from one grouped count."""
    channel, status = col(Invitation.channel), col(Invitation.status)
    query = select(channel, status, func.count()).group_by(channel, status)
    return [
        Reading("cxloop_invitations", "Invitations by channel and status", n, {"channel": c, "status": s})
        for c, s, n in (await session.exec(query)).all()
    ]
