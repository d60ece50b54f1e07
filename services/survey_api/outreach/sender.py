"""The sender: delivers due email and SMS invitations, sends reminders and expires what is past its time.

`send_due` claims scheduled invitations whose `next_attempt_at` has come (see `delivery` for the claim),
re-checks each (survey still active, not expired, contact still reachable), sends, and records the result:
accepted → `sent` then `delivered` (email: the SMTP server took it; SMS: the provider took it — neither
reports back yet); transient failure → retried after 1, 2, 4 … minutes (capped at 6 hours), `bounced`
after 10 attempts; permanent failure → `bounced`. A contact that unsubscribed, withdrew consent or was
erased since it was scheduled is `suppressed` instead (no event: no metric counts suppressed invitations).
Every other status change goes through `invitations.advance`, which writes its event.

`run_sender` is the in-process loop (`background=[run_sender]`); `send_due`, `send_reminders` and
`expire_due` are also one-off runs for the CLI.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI
from sqlmodel import col, select

from services.survey_api.catalog.models import Survey
from services.survey_api.outreach.delivery import (
    BATCH_SIZE,
    LEASE,
    Context,
    Transports,
    claim,
    database_of,
    lease_clock,
    load_context,
    locked,
    next_reminder_at,
)
from services.survey_api.outreach.eligibility import personal_reason
from services.survey_api.outreach.invitations import FINAL, advance
from services.survey_api.outreach.mailer import Email
from services.survey_api.outreach.models import Invitation
from services.survey_api.outreach.reminders import send_reminders
from services.survey_api.outreach.sms import Sms
from services.survey_api.outreach.transport import Outcome
from services.survey_api.settings import SurveySettings
from shared.background import pause
from shared.db import Database, claim_statement, utcnow

logger = logging.getLogger("cxloop.sender")
MAX_ATTEMPTS = 10
RETRY_BASE = dt.timedelta(minutes=1)
RETRY_CAP = dt.timedelta(hours=6)
EXPIRY_BATCH = 500
EXPIRY_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Action:
    """What to record for one claimed invitation."""

    kind: Literal["sent", "retry", "bounce", "expire", "suppress", "release"]
    detail: str | None = None  # the error; for `suppress`, the reason


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff from one minute, capped at six hours, with a little jitter so retries spread."""
    ceiling = min(RETRY_CAP.total_seconds(), RETRY_BASE.total_seconds() * 2.0 ** max(0, attempts - 1))
    return dt.timedelta(seconds=ceiling * random.uniform(0.8, 1.0))  # noqa: S311 - jitter, not secrets


def _check(invitation: Invitation, context: Context, now: dt.datetime) -> Action | None:
    """Why a claimed invitation must not be sent after all, or None to send it."""
    found = context.surveys.get(invitation.survey_id)
    if found is None or found[0].status != "active" or found[1] is None:
        return Action("expire", "the survey was closed before this invitation could be sent")
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return Action("expire", "expired before it could be sent")
    reason = personal_reason(context.contacts.get(invitation.contact_id or ""), invitation.channel)
    return Action("suppress", reason) if reason is not None else None


def _action(outcome: Outcome | None, attempts: int) -> Action:
    if outcome is None:
        return Action("release")
    if outcome.kind == "ok":
        return Action("sent")
    if outcome.kind == "permanent" or attempts >= MAX_ATTEMPTS:
        return Action("bounce", outcome.error)
    return Action("retry", outcome.error)


def _apply(invitation: Invitation, action: Action, context: Context, now: dt.datetime) -> list[str]:
    """Record one action on a fresh, locked invitation; the statuses to advance to, in order."""
    invitation.next_attempt_at, invitation.updated_at = None, now
    if action.kind == "release":  # never tried: due again, and the claim does not count as an attempt
        invitation.next_attempt_at, invitation.attempts = now, max(0, invitation.attempts - 1)
        return []
    if action.kind == "retry":
        invitation.next_attempt_at, invitation.last_error = now + retry_delay(invitation.attempts), action.detail
        return []
    if action.kind == "suppress":
        invitation.status, invitation.reason = "suppressed", action.detail
        return []
    invitation.last_error = action.detail
    if action.kind == "sent":
        context.rekey(invitation)
        distribution = context.distributions.get(invitation.distribution_id or "")
        invitation.next_attempt_at = next_reminder_at(distribution, now, invitation.expires_at)
        return ["sent", "delivered"]
    return ["bounced" if action.kind == "bounce" else "expired"]


async def _record(db: Database, actions: dict[str, Action], context: Context, now: dt.datetime) -> int:
    """Write the batch's results in one transaction; how many were sent."""
    sent = 0
    async with db.sessions() as session, session.begin():
        for invitation in await locked(session, actions):
            if invitation.status != "scheduled":  # moved on meanwhile (opened from the link, expired): no step back
                invitation.next_attempt_at = None  # and our lease must not turn into an early reminder
                session.add(invitation)
                continue
            for status in _apply(invitation, actions[invitation.id], context, now):
                advance(session, invitation, status, survey=context.survey(invitation), now=now)
            session.add(invitation)
            sent += actions[invitation.id].kind == "sent"
    return sent


async def _send_batch(
    db: Database, settings: SurveySettings, transports: Transports, now: dt.datetime
) -> tuple[int, int]:
    """Claim, send and record one batch: how many were claimed and how many sent."""
    in_time = lease_clock()
    due = [
        col(Invitation.status) == "scheduled",
        col(Invitation.channel).in_(transports.channels),
        col(Invitation.next_attempt_at) <= now,
    ]
    claimed = await claim(db, due, values={"next_attempt_at": now + LEASE, "attempts": col(Invitation.attempts) + 1})
    if not claimed:
        return 0, 0
    async with db.sessions() as session:
        context = await load_context(session, claimed)
    actions: dict[str, Action] = {}
    messages: dict[str, Email | Sms] = {}
    for invitation in claimed:
        refused = _check(invitation, context, now)
        if refused is not None:
            actions[invitation.id] = refused
            continue
        _survey, version = context.surveys[invitation.survey_id]
        contact = context.contacts[invitation.contact_id or ""]
        assert version is not None
        messages[invitation.id] = context.message(settings, invitation, contact, version, reminder=False)
    outcomes = await transports.send(messages, in_time)
    attempts = {i.id: i.attempts for i in claimed}
    actions |= {key: _action(outcomes.get(key), attempts[key]) for key in messages}
    return len(claimed), await _record(db, actions, context, now)


async def send_due(app_or_db: FastAPI | Database, settings: SurveySettings, now: dt.datetime | None = None) -> int:
    """Send every email and SMS invitation due by `now` (default: the time of each batch); how many were sent."""
    db, transports = database_of(app_or_db), Transports.from_settings(settings)
    if not transports.channels:
        return 0
    total = 0
    while True:
        claimed, sent = await _send_batch(db, settings, transports, now or utcnow())
        total += sent
        if claimed < BATCH_SIZE:
            return total


async def _expire_batch(db: Database, now: dt.datetime) -> int:
    claim = claim_statement(
        Invitation,
        where=[col(Invitation.status).not_in(FINAL), col(Invitation.expires_at) <= now],
        values={"updated_at": now},
        limit=EXPIRY_BATCH,
        order_by=[col(Invitation.id)],
        skip_locked=db.is_postgres,
        recheck=True,
    )
    async with db.sessions() as session, session.begin():
        invitations = list((await session.exec(claim)).scalars().all())  # type: ignore[call-overload]
        if not invitations:
            return 0
        surveys = await session.exec(select(Survey).where(col(Survey.id).in_({i.survey_id for i in invitations})))
        by_id = {s.id: s for s in surveys.all()}
        for invitation in invitations:
            invitation.next_attempt_at = None
            advance(session, invitation, "expired", survey=by_id.get(invitation.survey_id), now=now)
    return len(invitations)


async def expire_due(app_or_db: FastAPI | Database, now: dt.datetime | None = None) -> int:
    """Mark every invitation past its `expires_at` and not final `expired` (with its event); how many."""
    db, total = database_of(app_or_db), 0
    while True:
        done = await _expire_batch(db, now or utcnow())
        total += done
        if done < EXPIRY_BATCH:
            return total


async def run_sender(app: FastAPI, stop: asyncio.Event, idle_seconds: float = 5.0) -> None:
    """Send, remind and expire until `stop` is set; sleep when idle. Errors are logged, never fatal."""
    settings: SurveySettings = app.state.settings
    last_expiry = float("-inf")
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        busy = 0
        try:
            busy += await send_due(app, settings)
            busy += await send_reminders(app, settings)
            if loop.time() - last_expiry >= EXPIRY_EVERY_SECONDS:
                last_expiry = loop.time()
                busy += await expire_due(app)
        except Exception:
            logger.exception("invitation sender failed; retrying")
            busy = 0
        if not busy:
            await pause(stop, seconds=idle_seconds)
