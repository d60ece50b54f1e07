"""Who a distribution targets: listed contact ids (in chunks) or an audience filter, inside the caller's units.

A listed id that names no live contact the caller may see (unknown, another org's, erased, outside the
caller's units) is one target without a contact: it is reported as `unknown_contact`, never as "not found"
for the whole request. A repeated id is reported as `duplicate` where it repeats.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Unit
from services.survey_api.contacts.models import Contact
from services.survey_api.outreach.schemas import MAX_CONTACT_IDS, Audience
from shared.auth import Principal
from shared.db import in_subtrees
from shared.errors import Forbidden, invalid

CHUNK_SIZE = 1000


@dataclass(frozen=True)
class Target:
    """One listed entry: the id as given, its live contact (None if unknown), whether it repeats an earlier one."""

    contact_id: str
    contact: Contact | None
    repeated: bool = False


def _visible(principal: Principal, contact: Contact) -> bool:
    return principal.units is None or (contact.unit is not None and principal.sees_unit(contact.unit))


async def _load(session: AsyncSession, principal: Principal, ids: set[str]) -> dict[str, Contact]:
    """The live contacts of the caller's org and units among `ids` (one query)."""
    rows = await session.exec(
        select(Contact).where(Contact.org == principal.org, col(Contact.id).in_(ids), col(Contact.erased_at).is_(None))
    )
    return {c.id: c for c in rows.all() if _visible(principal, c)}


async def listed_targets(
    session: AsyncSession, principal: Principal, contact_ids: Sequence[str]
) -> AsyncIterator[list[Target]]:
    """The listed ids in order, a chunk at a time, each with its contact (one query per chunk)."""
    seen: set[str] = set()
    for start in range(0, len(contact_ids), CHUNK_SIZE):
        chunk = contact_ids[start : start + CHUNK_SIZE]
        found = await _load(session, principal, set(chunk) - seen)
        targets = []
        for contact_id in chunk:
            targets.append(Target(contact_id, found.get(contact_id), repeated=contact_id in seen))
            seen.add(contact_id)
        yield targets


def _matches(attributes: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Every wanted attribute has exactly that value and type (`true` is not `1`, `"1"` is not `1`)."""
    return all(
        key in attributes and type(attributes[key]) is type(v) and attributes[key] == v for key, v in wanted.items()
    )


async def _check_unit(session: AsyncSession, principal: Principal, unit: str) -> None:
    if not principal.sees_unit(unit):
        raise Forbidden(f"Your token may only distribute inside {', '.join(principal.units or ())}")
    found = await session.exec(select(Unit.id).where(Unit.org == principal.org, Unit.path == unit))
    if found.first() is None:
        raise invalid("audience.unit", f"no unit {unit!r} in your organisation", "unknown_unit")


async def audience_contacts(session: AsyncSession, principal: Principal, audience: Audience) -> list[Contact]:
    """Every live contact the audience selects, in creation order (a page of 1000 per query); 422 if none."""
    statement = select(Contact).where(Contact.org == principal.org, col(Contact.erased_at).is_(None))
    if audience.unit is not None:
        await _check_unit(session, principal, audience.unit)
        statement = statement.where(in_subtrees(col(Contact.unit), [audience.unit]))
    if principal.units is not None:
        statement = statement.where(in_subtrees(col(Contact.unit), principal.units))
    if audience.attributes and session.get_bind().dialect.name == "postgresql":  # narrowed in SQL, checked below
        statement = statement.where(type_coerce(col(Contact.attributes), JSONB).contains(audience.attributes))
    found: list[Contact] = []
    after = ""
    while True:
        page = (
            await session.exec(statement.where(col(Contact.id) > after).order_by(col(Contact.id)).limit(CHUNK_SIZE))
        ).all()
        found += [c for c in page if _matches(c.attributes, audience.attributes)]
        if len(found) > MAX_CONTACT_IDS:
            message = f"selects more than {MAX_CONTACT_IDS} contacts; narrow it (a unit, an attribute) or split it"
            raise invalid("audience", message, "audience_too_large")
        if len(page) < CHUNK_SIZE:
            break
        after = page[-1].id
    if not found:
        raise invalid("audience", "selects no contact", "empty_audience")
    return found


async def audience_targets(
    session: AsyncSession, principal: Principal, audience: Audience
) -> AsyncIterator[list[Target]]:
    """The audience's contacts as targets, a chunk at a time."""
    contacts = await audience_contacts(session, principal, audience)
    for start in range(0, len(contacts), CHUNK_SIZE):
        yield [Target(c.id, c) for c in contacts[start : start + CHUNK_SIZE]]
