"""People (create, read, list, change) and the checks that teams, escalations and cases name known people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.notifications.models import Notification
from services.loop_api.people.models import Person
from services.loop_api.people.schemas import PersonCreate, PersonUpdate
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, NotFound, invalid
from shared.pagination import keyset, page_of


def _check_units(principal: Principal, units: Iterable[str]) -> None:
    """403 when a unit-restricted caller gives someone units outside its own (they would hear of those cases)."""
    outside = [unit for unit in units if not principal.sees_unit(unit)]
    if outside:
        raise Forbidden(f"Unit {outside[0]!r} lies outside the units of your token")


async def create_person(*, session: AsyncSession, principal: Principal, data: PersonCreate) -> Person:
    """Add a person; 409 when the org already has that handle."""
    _check_units(principal, data.units)
    now = utcnow()
    person = Person(org=principal.org, **data.model_dump(), created_at=now, updated_at=now)
    session.add(person)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A person with handle {data.handle!r} already exists") from exc
    return person


async def get_person(*, session: AsyncSession, principal: Principal, handle: str) -> Person:
    """One person of the caller's org; 404 otherwise."""
    person = await session.get(Person, (principal.org, handle))
    if person is None:
        raise NotFound(f"No person {handle!r}")
    return person


async def list_people(
    *, session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[Person], str | None]:
    """A page of the org's people by handle."""
    statement = select(Person).where(Person.org == principal.org)
    rows = (await session.exec(keyset(statement, col(Person.handle), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda person: person.handle)


async def update_person(
    *, session: AsyncSession, principal: Principal, handle: str, data: PersonUpdate, now: dt.datetime
) -> Person:
    """Change a person; leaving the digest hands what waited for it to the new choice (sent now, or skipped)."""
    person = await get_person(session=session, principal=principal, handle=handle)
    changes = data.model_dump(exclude_unset=True)
    _check_units(principal, changes.get("units", []))
    if not any(getattr(person, name) != value for name, value in changes.items()):
        return person
    if person.notify == "digest" and changes.get("notify", "digest") != "digest":
        await _release_digest_items(session, person, changes["notify"], now)
    for name, value in changes.items():
        setattr(person, name, value)
    person.updated_at = now
    session.add(person)
    await session.flush()
    return person


async def _release_digest_items(session: AsyncSession, person: Person, notify: str, now: dt.datetime) -> None:
    values = {"status": "pending", "delivery": "immediate", "next_attempt_at": now, "updated_at": now}
    if notify == "off":
        values = {"status": "skipped", "last_error": "the person turned notifications off", "updated_at": now}
    statement = update(Notification).where(
        col(Notification.org) == person.org,
        col(Notification.recipient) == person.handle,
        col(Notification.status) == "queued",
    )
    await session.exec(statement.values(**values))  # type: ignore[call-overload]


async def people_by_handle(session: AsyncSession, org: str, handles: Iterable[str]) -> dict[str, Person]:
    """The org's people among `handles`, by handle."""
    wanted = {h for h in handles if h}
    if not wanted:
        return {}
    found = await session.exec(select(Person).where(Person.org == org, col(Person.handle).in_(wanted)))
    return {person.handle: person for person in found.all()}


async def watchers(session: AsyncSession, org: str, unit: str | None) -> list[Person]:
    """The people who look after a unit subtree containing `unit` and want to be told."""
    if unit is None:
        return []
    statement = select(Person).where(Person.org == org, col(Person.notify) != "off").order_by(col(Person.handle))
    people = (await session.exec(statement)).all()
    return [p for p in people if any(unit == u or unit.startswith(u + "/") for u in p.units)]


async def check_handles(session: AsyncSession, org: str, handles: Iterable[str], field: str) -> None:
    """422 naming the handles that are no person of the org, once the org keeps people (before, any id goes)."""
    wanted = {h for h in handles if h}
    if not wanted:
        return
    if (await session.exec(select(Person.handle).where(Person.org == org).limit(1))).first() is None:
        return
    unknown = sorted(wanted - set(await people_by_handle(session, org, wanted)))
    if unknown:
        raise invalid(field, f"not people of this org: {', '.join(unknown)[:500]}", "unknown_person")
