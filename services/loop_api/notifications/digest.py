"""The daily digest: from `LOOP_DIGEST_HOUR` in the org's time zone, one email per person on the digest and day.

Composing is an `INSERT … ON CONFLICT (org, dedupe_key) DO NOTHING` of the digest (`digest:<handle>:<day>`)
that, when it inserted, takes the person's `queued` items in the same transaction: two replicas composing at
the same moment make one digest, and an item lands in exactly one. A day with nothing new and no open case
gives a `skipped` digest (visible, never mailed).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import col, select

from services.loop_api.models import Case, OrgSettingsRow
from services.loop_api.notifications.models import Notification
from services.loop_api.notifications.writing import DIGEST
from services.loop_api.org_settings import LoopOrgSettings
from services.loop_api.people.models import Person
from services.loop_api.settings import LoopSettings
from shared.db import Database, insert_ignoring_conflicts
from shared.ids import new_id
from shared.org_settings import load_org_settings

DONE = ("resolved", "closed")


def digest_key(handle: str, day: str) -> str:
    """The one digest of a person and local day."""
    return f"digest:{handle}:{day}"


async def org_timezone(db: Database, org: str) -> str:
    """The org's time zone (its business hours')."""
    async with db.sessions() as session:
        settings = await load_org_settings(session, table=OrgSettingsRow, model=LoopOrgSettings, org=org)
    return settings.business_hours.timezone


async def compose_digests(db: Database, settings: LoopSettings, now: dt.datetime) -> int:
    """Compose every digest that is due as of `now` and not composed yet; how many this call composed."""
    async with db.sessions() as session:
        people = (await session.exec(select(Person).where(Person.notify == "digest"))).all()
    by_org: dict[str, list[Person]] = defaultdict(list)
    for person in people:
        by_org[person.org].append(person)
    composed = 0
    for org, members in sorted(by_org.items()):
        local = now.astimezone(ZoneInfo(await org_timezone(db, org)))
        if local.hour < settings.digest_hour:
            continue
        day = local.date().isoformat()
        for person in await _not_composed(db, org, members, day):
            composed += await _compose(db, person, day, now)
    return composed


async def _not_composed(db: Database, org: str, people: list[Person], day: str) -> list[Person]:
    keys = {digest_key(p.handle, day): p for p in people}
    async with db.sessions() as session:
        statement = select(Notification.dedupe_key).where(
            Notification.org == org, col(Notification.dedupe_key).in_(list(keys))
        )
        done = set((await session.exec(statement)).all())
    return [person for key, person in sorted(keys.items()) if key not in done]


async def _compose(db: Database, person: Person, day: str, now: dt.datetime) -> int:
    """Insert the person's digest of `day` unless a replica did, and take their queued items into it."""
    digest_id = new_id("ntf")
    async with db.sessions() as session, session.begin():
        table: Any = Notification.__table__  # type: ignore[attr-defined]
        digest = Notification(
            id=digest_id,
            org=person.org,
            recipient=person.handle,
            email=person.email,
            kind=DIGEST,
            subject=f"Your cxloop digest for {day}",
            data={"day": day},
            delivery="digest",
            next_attempt_at=now,
            dedupe_key=digest_key(person.handle, day),
            created_at=now,
            updated_at=now,
        )
        values = {column.name: getattr(digest, column.name) for column in table.columns}
        statement = insert_ignoring_conflicts(session, table, conflict_columns=["org", "dedupe_key"])
        if (await session.exec(statement.values(values).returning(table.c.id))).first() is None:
            return 0
        take = (
            update(Notification)
            .where(
                col(Notification.org) == person.org,
                col(Notification.recipient) == person.handle,
                col(Notification.status) == "queued",
            )
            .values(status="digested", digest_id=digest_id, updated_at=now)
            .returning(col(Notification.id))
        )
        items = len((await session.exec(take)).all())  # type: ignore[call-overload]
        open_count = (
            await session.exec(
                select(func.count()).where(
                    Case.org == person.org, Case.owner == person.handle, col(Case.status).not_in(DONE)
                )
            )
        ).one()
        stored = await session.get(Notification, digest_id)
        assert stored is not None
        digest = stored
        digest.subject = f"Your cxloop digest for {day}: {items} new, {open_count} open cases"
        digest.data = {"day": day, "items": items, "open_cases": open_count}
        if not items and not open_count:
            digest.status, digest.next_attempt_at, digest.last_error = "skipped", None, "nothing to report"
        session.add(digest)
    return 1
