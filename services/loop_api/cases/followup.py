"""After the case: ask the reached customer again (`followup.requested`), and read their next answer.

The request is an outbox event (declared in shared/events.py) written in the transaction that closes the
case: closing never waits for survey_api, and the dispatcher retries until survey_api accepts it. survey_api
answers with `followup.invited` (the invitation's id and status), and its later `invitation.<status>` events
keep the status on the case current.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.service import record, touch
from services.loop_api.models import Case, OutboxEvent
from services.loop_api.rules.matching import first_nps
from shared.events import (
    FOLLOWUP_REQUESTED_EVENT,
    FollowupInvitedData,
    FollowupRequestedData,
    InvitationData,
    ResponseData,
)
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
    answered_at = response.submitted_at  # when the customer answered (a backdated answer came before the close)
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


async def _cases_of_invitations(session: AsyncSession, org: str, invitation_ids: set[str]) -> dict[str, Case]:
    statement = select(Case).where(Case.org == org, col(Case.followup_invitation_id).in_(invitation_ids))
    return {c.followup_invitation_id or "": c for c in (await session.exec(statement.with_for_update())).all()}


async def record_invitation(session: AsyncSession, org: str, data: FollowupInvitedData, now: dt.datetime) -> bool:
    """Put survey_api's follow-up invitation (or `not_sent`) on its case; False for an unknown case."""
    case = await session.get(Case, data.case_id, with_for_update=True)
    if case is None or case.org != org:
        return False
    case.followup_invitation_id, case.followup_status = data.invitation_id, data.status
    case.followup_sent_at = data.sent_at
    touch(case, now)
    entry = {"invitation_id": data.invitation_id, "status": data.status}
    record(session, case, kind="followup_invited", actor=SYSTEM, at=now, data=entry)
    session.add(case)
    return True


async def track_invitations(session: AsyncSession, org: str, steps: list[InvitationData], now: dt.datetime) -> int:
    """Follow the status of follow-up invitations (other invitations are not ours); how many steps applied."""
    cases = await _cases_of_invitations(session, org, {s.invitation_id for s in steps})
    applied = 0
    for step in steps:
        case = cases.get(step.invitation_id)
        if case is None or case.followup_status == step.status:
            continue
        case.followup_status = step.status
        if step.status == "sent":
            case.followup_sent_at = case.followup_sent_at or step.at
        touch(case, now)
        session.add(case)
        applied += 1
    return applied
