"""The notification sender: claims due emails, renders them from the cases as they are now, sends, records.

A claim is one `UPDATE notifications … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING *`
that pushes `next_attempt_at` a lease ahead and counts the attempt: two senders (replicas) on PostgreSQL never
hold the same notification, and on SQLite the single writer makes the statement atomic. The result is written
once the SMTP server answered: `sent`; a transient failure is retried after 1, 2, 4 … minutes (capped at six
hours) and `failed` after the last attempt, as is a permanent refusal. A sender that dies mid-batch leaves its
claim to run out, and the emails it had not recorded are sent again by another (at least once; the SMTP
server's acceptance and our commit cannot be one transaction).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections import defaultdict
from email.message import EmailMessage

from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.models import Case, OrgSettingsRow
from services.loop_api.notifications.digest import DONE, compose_digests
from services.loop_api.notifications.message import Context, build_message, case_body, digest_body
from services.loop_api.notifications.models import Notification
from services.loop_api.notifications.writing import DIGEST
from services.loop_api.org_settings import LoopOrgSettings
from services.loop_api.people.models import Person
from services.loop_api.people.service import people_by_handle
from services.loop_api.settings import LoopSettings
from shared.background import pause
from shared.db import Database, claim_statement, utcnow
from shared.mail import InTime, Outcome, SmtpSender
from shared.org_settings import load_org_settings

logger = logging.getLogger("cxloop.loop.notifications")
BATCH_SIZE = 50
LEASE = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 8
RETRY_BASE = dt.timedelta(minutes=1)
RETRY_CAP = dt.timedelta(hours=6)
MAX_OPEN_CASES = 200  # listed in one digest
DIGEST_EVERY_SECONDS = 60.0


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff from one minute, capped at six hours, with a little jitter so retries spread."""
    ceiling = min(RETRY_CAP.total_seconds(), RETRY_BASE.total_seconds() * 2.0 ** max(0, attempts - 1))
    return dt.timedelta(seconds=ceiling * random.uniform(0.8, 1.0))  # noqa: S311 - jitter, not secrets


async def _claim(db: Database, now: dt.datetime) -> list[Notification]:
    statement = claim_statement(
        Notification,
        where=[col(Notification.status) == "pending", col(Notification.next_attempt_at) <= now],
        values={"next_attempt_at": now + LEASE, "attempts": col(Notification.attempts) + 1, "updated_at": now},
        limit=BATCH_SIZE,
        order_by=[col(Notification.next_attempt_at), col(Notification.id)],
        skip_locked=db.is_postgres,
    )
    async with db.sessions() as session, session.begin():
        claimed: list[Notification] = list((await session.exec(statement)).scalars().all())  # type: ignore[call-overload]
    return sorted(claimed, key=lambda n: n.id)


async def _open_cases(session: AsyncSession, digest: Notification) -> list[Case]:
    statement = select(Case).where(
        Case.org == digest.org, Case.owner == digest.recipient, col(Case.status).not_in(DONE)
    )
    return list((await session.exec(statement.order_by(col(Case.due_first_contact_at)).limit(MAX_OPEN_CASES))).all())


async def _render(
    db: Database, settings: LoopSettings, batch: list[Notification], now: dt.datetime
) -> tuple[dict[str, EmailMessage], set[str]]:
    """The email of each claimed notification, and the ids not to send (their person turned notifications off)."""
    messages: dict[str, EmailMessage] = {}
    skipped: set[str] = set()
    async with db.sessions() as session:
        digests = [n.id for n in batch if n.kind == DIGEST]
        in_digests = select(Notification).where(col(Notification.digest_id).in_(digests))
        items = (await session.exec(in_digests.order_by(col(Notification.id)))).all() if digests else []
        case_ids = {n.case_id for n in [*batch, *items] if n.case_id}
        cases = {c.id: c for c in (await session.exec(select(Case).where(col(Case.id).in_(case_ids)))).all()}
        by_digest: dict[str, list[Notification]] = defaultdict(list)
        for item in items:
            by_digest[item.digest_id or ""].append(item)
        contexts: dict[str, Context] = {}
        people: dict[tuple[str, str], Person] = {}
        for notification in batch:
            org = notification.org
            if org not in contexts:
                org_settings = await load_org_settings(session, table=OrgSettingsRow, model=LoopOrgSettings, org=org)
                timezone = org_settings.business_hours.timezone
                contexts[org] = Context(timezone=timezone, link_base=settings.case_link_base)
                handles = [n.recipient for n in batch if n.org == org]
                people |= {(org, h): p for h, p in (await people_by_handle(session, org, handles)).items()}
            person = people.get((org, notification.recipient))
            if person is not None and person.notify == "off":
                skipped.add(notification.id)
                continue
            if notification.kind == DIGEST:
                day = str(notification.data.get("day", ""))
                listed = [(item, cases.get(item.case_id or "")) for item in by_digest[notification.id]]
                body = digest_body(listed, await _open_cases(session, notification), contexts[org], day)
            else:
                body = case_body(notification, cases.get(notification.case_id or ""), contexts[org])
            name = person.name if person is not None else None
            messages[notification.id] = build_message(
                notification, name=name, body=body, mail_from=settings.mail_from, now=now
            )
    return messages, skipped


def _apply(notification: Notification, outcome: Outcome | None, skipped: bool, now: dt.datetime) -> bool:
    """Record one result on a claimed notification; whether it was sent."""
    notification.updated_at = now
    if skipped:
        notification.status, notification.next_attempt_at = "skipped", None
        notification.last_error = "the person turned notifications off"
    elif outcome is None:  # never tried: due again, and the claim does not count as an attempt
        notification.next_attempt_at, notification.attempts = now, max(0, notification.attempts - 1)
    elif outcome.kind == "ok":
        notification.status, notification.sent_at, notification.next_attempt_at = "sent", now, None
        notification.last_error = None
    elif outcome.kind == "permanent" or notification.attempts >= MAX_ATTEMPTS:
        notification.status, notification.next_attempt_at, notification.last_error = "failed", None, outcome.error
    else:
        notification.next_attempt_at = now + retry_delay(notification.attempts)
        notification.last_error = outcome.error
    return notification.status == "sent"


async def _record(
    db: Database, batch: list[Notification], outcomes: dict[str, Outcome], skipped: set[str], now: dt.datetime
) -> int:
    sent = 0
    async with db.sessions() as session, session.begin():
        for claimed in batch:
            notification = await session.get(Notification, claimed.id, populate_existing=True, with_for_update=True)
            if notification is None or notification.status != "pending":
                continue
            sent += _apply(notification, outcomes.get(claimed.id), claimed.id in skipped, now)
            session.add(notification)
    return sent


def _lease_clock() -> InTime:
    """True until half of a lease taken now is used up: a slow server cannot make a claim run out mid-batch."""
    deadline = time.monotonic() + LEASE.total_seconds() / 2
    return lambda: time.monotonic() < deadline


async def send_pending(db: Database, settings: LoopSettings, now: dt.datetime | None = None) -> int:
    """Send every due notification once (batch by batch); how many were sent. Without `LOOP_SMTP_URL`, none."""
    if settings.smtp_url is None:
        return 0
    smtp = SmtpSender(settings.smtp_url.get_secret_value(), settings.mail_from, setting="LOOP_SMTP_URL")
    total = 0
    while True:
        at = now or utcnow()
        batch = await _claim(db, at)
        if not batch:
            return total
        in_time = _lease_clock()
        messages, skipped = await _render(db, settings, batch, at)
        outcomes = await smtp.send(messages, in_time)
        total += await _record(db, batch, outcomes, skipped, at)
        if len(batch) < BATCH_SIZE:
            return total


async def notify(db: Database, settings: LoopSettings, now: dt.datetime | None = None) -> tuple[int, int]:
    """Compose the digests that are due, then send what is pending: (digests composed, emails sent)."""
    composed = await compose_digests(db, settings, now or utcnow())
    return composed, await send_pending(db, settings, now)


async def notify_loop(app: FastAPI, stop: asyncio.Event) -> None:
    """Compose digests (every minute) and send notifications until `stop` is set; errors are logged, never fatal."""
    settings: LoopSettings = app.state.settings
    db: Database = app.state.db
    loop = asyncio.get_running_loop()
    last_digest = float("-inf")
    while not stop.is_set():
        busy = 0
        try:
            if loop.time() - last_digest >= DIGEST_EVERY_SECONDS:
                last_digest = loop.time()
                busy += await compose_digests(db, settings, app.state.clock.now())
            busy += await send_pending(db, settings, app.state.clock.now())
        except Exception:
            logger.exception("notification sender failed; retrying")
            busy = 0
        if not busy:
            await pause(stop, seconds=settings.notify_interval_seconds)


async def notify_once(settings: LoopSettings) -> tuple[int, int]:
    """One pass against the settings' database (for `cxloop loop notify` and cron): (digests, emails sent)."""
    db = Database(settings.database_url, pool_size=1)
    try:
        return await notify(db, settings)
    finally:
        await db.dispose()
