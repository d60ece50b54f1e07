"""loop_api's business gauges on /metrics: open cases by SLA state (breached, at risk, on track)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.models import Case
from services.loop_api.cases.sla import sla_state_clause
from shared.db import utcnow
from shared.gauges import Reading

_DONE = ("resolved", "closed")


async def case_gauges(session: AsyncSession) -> list[Reading]:
    """How many cases still being worked are breached, at risk or on track now."""
    now = utcnow()
    readings = []
    for state in ("breached", "at_risk", "on_track"):
        query = select(func.count()).where(col(Case.status).not_in(_DONE), sla_state_clause(state, now))
        count = (await session.exec(query)).one()
        readings.append(Reading("cxloop_cases_open", "Cases not yet resolved, by SLA state", count, {"sla": state}))
    return readings
