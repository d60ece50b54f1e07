"""After the case: ask the reached customer again (`followup.requested`), and read their next answer.

The request is an outbox event (declared in shared/events.py) written in the transaction that closes the
case: closing never waits for survey_api, and the dispatcher retries until survey_api accepts it.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.service import record, touch
from services.loop_api.models import Case, OutboxEvent
from services.loop_api.rules.matching import first_nps
from shared.events import FOLLOWUP_REQUESTED_EVENT, FollowupRequestedData, ResponseData
from shared.outbox import add_event

SYSTEM = "system:loop"
PROMOTER_OR_PASSIVE = 7
DETRACTOR_MAX = 6


def request_followup(session: AsyncSession, case: Case, *, actor: str, now: dt.datetime) -> bool:
    """Stage `followup.requested` for a closed case whose customer was reached (once per case); whether it did."""
    if case.first_contact_at is None or case.contact_id is None or case.followup_requested_at is not None:
        return False
    data = FollowupRequestedData(
        case_id=case.id,
        contact_id=case.contact_id,
        survey_id=case.survey_id,
        unit=case.unit,
        response_id=case.response_id,
        language=case.snapshot.get("language"),
        outcome=case.outcome,
    )
    envelope = FOLLOWUP_REQUESTED_EVENT.envelope(org=case.org, data=data, occurred_at=now)
    add_event(session, OutboxEvent, envelope)
    case.followup_requested_at = now
    record(session, case, kind="followup_requested", actor=actor, at=now, data={"event_id": envelope.id})
    return True


def saved(before: int | None, after: int) -> bool:
    """Whether a detractor (0-6) came back as a passive or promoter (7-10)."""
    return before is not None and before <= DETRACTOR_MAX and after >= PROMOTER_OR_PASSIVE


async def record_recovery(session: AsyncSession, org: str, response: ResponseData, now: dt.datetime) -> int:
    """Record this response as the next NPS answer of the contact's closed cases that have none; how many."""
    after = first_nps(response)
    if response.contact_id is None or after is None:
        return 0
    answered_at = response.completed_at or response.submitted_at
    statement = (
        select(Case)
        .where(
            Case.org == org,
            Case.contact_id == response.contact_id,
            Case.status == "closed",
            col(Case.followup_response_id).is_(None),
            col(Case.closed_at) < answered_at,
            Case.response_id != response.response_id,
        )
        .with_for_update()  # PostgreSQL re-checks the filter after waiting: a concurrent answer wins once
        .execution_options(populate_existing=True)
    )
    cases = (await session.exec(statement)).all()
    for case in cases:
        case.followup_response_id, case.nps_after = response.response_id, after
        case.saved, case.recovery_recorded_at = saved(case.nps_before, after), now
        touch(case, now)
        data = {"response_id": response.response_id, "score_before": case.nps_before, "score_after": after}
        record(session, case, kind="recovery_recorded", actor=SYSTEM, at=now, data={**data, "saved": case.saved})
        session.add(case)
    return len(cases)
