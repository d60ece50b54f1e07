"""Reminders: the email or SMS again, to those who have not completed, per their distribution's rule.

An invitation is reminded when it is `sent`, `delivered`, `opened` or `started` (so not completed, nor
bounced, expired or suppressed), its contact is still reachable (not unsubscribed, consent not withdrawn),
its survey is still active, it has not expired, and `after_days` have passed since it was last sent or
reminded, at most `max_count` times. `next_attempt_at` of a sent invitation holds when its next reminder
is due (set when it is sent), so the pass is one indexed claim, like the sender's. Only email and SMS are
reminded: nobody sends the other channels. A reminder changes no status and writes no event.
"""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from sqlmodel import col

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
from services.survey_api.outreach.mailer import Email
from services.survey_api.outreach.models import Invitation
from services.survey_api.outreach.sms import Sms
from services.survey_api.outreach.transport import Outcome
from services.survey_api.settings import SurveySettings
from shared.db import Database, utcnow

REMINDABLE = ("sent", "delivered", "opened", "started")
RETRY_AFTER = dt.timedelta(minutes=30)
STOP = Outcome.permanent("no more reminders: the invitation or its contact no longer qualifies")


def _due(invitation: Invitation, context: Context, now: dt.datetime) -> bool:
    """Whether a claimed invitation still qualifies for a reminder now."""
    distribution = context.distributions.get(invitation.distribution_id or "")
    found = context.surveys.get(invitation.survey_id)
    if distribution is None or not distribution.reminder or found is None or found[0].status != "active":
        return False
    if invitation.reminders_sent >= int(distribution.reminder["max_count"]):
        return False
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return False
    return personal_reason(context.contacts.get(invitation.contact_id or ""), invitation.channel) is None


def _apply(invitation: Invitation, outcome: Outcome | None, context: Context, now: dt.datetime) -> bool:
    """Record one reminder's outcome on a fresh, locked invitation; whether it was sent."""
    invitation.updated_at = now
    if outcome is None:  # never tried: due again
        invitation.next_attempt_at = now
        return False
    if outcome.kind == "transient":
        retry = now + RETRY_AFTER
        fits = invitation.expires_at is None or retry < invitation.expires_at
        invitation.next_attempt_at, invitation.last_error = (retry if fits else None), outcome.error
        return False
    if outcome.kind == "permanent":
        invitation.next_attempt_at = None
        invitation.last_error = outcome.error if outcome is not STOP else invitation.last_error
        return False
    distribution = context.distributions.get(invitation.distribution_id or "")
    context.rekey(invitation)
    invitation.reminders_sent += 1
    invitation.last_reminder_at, invitation.last_error = now, None
    limit = int(distribution.reminder["max_count"]) if distribution and distribution.reminder else 0
    more = invitation.reminders_sent < limit
    invitation.next_attempt_at = next_reminder_at(distribution, now, invitation.expires_at) if more else None
    return True


async def _record(db: Database, outcomes: dict[str, Outcome | None], context: Context, now: dt.datetime) -> int:
    sent = 0
    async with db.sessions() as session, session.begin():
        for invitation in await locked(session, outcomes):
            if invitation.status not in REMINDABLE:  # completed (or bounced, expired) meanwhile
                continue
            sent += _apply(invitation, outcomes[invitation.id], context, now)
            session.add(invitation)
    return sent


async def _remind_batch(
    db: Database, settings: SurveySettings, transports: Transports, now: dt.datetime
) -> tuple[int, int]:
    in_time = lease_clock()
    due = [
        col(Invitation.status).in_(REMINDABLE),
        col(Invitation.channel).in_(transports.channels),
        col(Invitation.next_attempt_at) <= now,
    ]
    claimed = await claim(db, due, values={"next_attempt_at": now + LEASE})
    if not claimed:
        return 0, 0
    async with db.sessions() as session:
        context = await load_context(session, claimed)
    messages: dict[str, Email | Sms] = {}
    outcomes: dict[str, Outcome | None] = {}
    for invitation in claimed:
        version = context.surveys.get(invitation.survey_id, (None, None))[1]
        contact = context.contacts.get(invitation.contact_id or "")
        if not _due(invitation, context, now) or version is None or contact is None:
            outcomes[invitation.id] = STOP
            continue
        messages[invitation.id] = context.message(settings, invitation, contact, version, reminder=True)
    sent = await transports.send(messages, in_time)
    outcomes |= {key: sent.get(key) for key in messages}
    return len(claimed), await _record(db, outcomes, context, now)


async def send_reminders(
    app_or_db: FastAPI | Database, settings: SurveySettings, now: dt.datetime | None = None
) -> int:
    """Send every reminder due by `now` (default: the time of each batch); how many were sent."""
    db, transports = database_of(app_or_db), Transports.from_settings(settings)
    if not transports.channels:
        return 0
    total = 0
    while True:
        claimed, sent = await _remind_batch(db, settings, transports, now or utcnow())
        total += sent
        if claimed < BATCH_SIZE:
            return total
