"""What loop_api tells its webhooks about cases: opened, assigned, status changed, closed (in the change's
transaction, through the outbox)."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.models import Case, OutboxEvent
from shared.events import CaseData, EventType
from shared.outbox import add_event


def case_data(case: Case, previous_status: str | None = None) -> CaseData:
    """The payload of the case events: the case as it is now (and the status it left)."""
    fields = {name: getattr(case, name) for name in CaseData.model_fields if hasattr(case, name)}
    return CaseData.model_validate(
        {**fields, "case_id": case.id, "team": case.team_id, "previous_status": previous_status}
    )


def announce(session: AsyncSession, case: Case, event: EventType[Any], previous_status: str | None = None) -> None:
    """Stage `event` about `case` in the outbox: it is delivered only if the change commits."""
    add_event(session, OutboxEvent, event.envelope(org=case.org, data=case_data(case, previous_status)))
