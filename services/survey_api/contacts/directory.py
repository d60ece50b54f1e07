"""Contacts: upsert on the org's `external_id` (one or in bulk), read and list, inside the caller's units.

One upsert and a bulk chunk run the same code: load the chunk's contacts by external_id (one query), check
the units they name (one query), merge every item in order in memory, then insert the new contacts and
update the changed ones with one statement each. A repeated external_id inside a batch is applied in order,
exactly as if the items had been sent one by one: the later item wins where they disagree.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Table, bindparam, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Unit
from services.survey_api.contacts.models import Contact
from services.survey_api.contacts.schemas import MAX_ATTRIBUTES, BulkItemResult, BulkResult, ContactUpsert
from shared.auth import Principal
from shared.db import in_subtrees, insert_ignoring_conflicts, utcnow
from shared.errors import Conflict, CxloopError, FieldError, Forbidden, NotFound, invalid, pydantic_field_errors
from shared.ids import new_id
from shared.pagination import keyset, page_of

CHUNK_SIZE = 1000
EDITABLE = ("email", "phone", "name", "locale", "unit")
STATE = ("external_id", *EDITABLE, "attributes", "consent", "unsubscribed_at")
CONTACTS: Table = Contact.__table__  # type: ignore[attr-defined]
ITEM_ADAPTER: TypeAdapter[ContactUpsert] = TypeAdapter(ContactUpsert)

Status = Literal["created", "updated", "unchanged", "rejected"]


@dataclass
class _Entry:
    """One contact as this chunk leaves it: its id, its state columns and whether it must be inserted."""

    id: str
    state: dict[str, Any]
    new: bool
    dirty: bool = False


@dataclass
class _Outcome:
    """What one item did: its status, the contact it touched, or the error that rejected it."""

    index: int
    status: Status
    entry: _Entry | None = None
    error: CxloopError | None = None


@dataclass
class _Chunk:
    """One chunk's working state: the caller, the named units that exist, the contacts by external_id."""

    principal: Principal
    known_units: set[str]
    entries: dict[str, _Entry]
    now: dt.datetime = field(default_factory=utcnow)


def _state_of(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in STATE}


def _same(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Equal as JSON: `True`, `1` and `1.0` are three different attribute values."""
    return json.dumps(before, sort_keys=True, default=str) == json.dumps(after, sort_keys=True, default=str)


def _merge(before: dict[str, Any] | None, data: ContactUpsert, now: dt.datetime) -> dict[str, Any]:
    """The contact after `data`: sent fields replace, attributes and consent merge, null deletes a key."""
    after = dict(before) if before else {**dict.fromkeys(STATE), "attributes": {}, "consent": {}}
    after["external_id"] = data.external_id
    for name in EDITABLE:
        if data.sent(name):
            after[name] = getattr(data, name)
    attributes = dict(after["attributes"])
    for key, value in data.attributes.items():
        if value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    after["attributes"] = attributes
    after["consent"] = {**after["consent"], **data.consent}
    if data.unsubscribed is True and after["unsubscribed_at"] is None:
        after["unsubscribed_at"] = now
    elif data.unsubscribed is False:
        after["unsubscribed_at"] = None
    return after


def _writable(principal: Principal, unit: str | None) -> bool:
    return principal.units is None or (unit is not None and principal.sees_unit(unit))


def _check(chunk: _Chunk, before: dict[str, Any] | None, after: dict[str, Any], data: ContactUpsert) -> None:
    """Raise 403 for a contact outside the caller's units, 422 for an unknown unit or too many attributes."""
    principal = chunk.principal
    if before is not None and not _writable(principal, before["unit"]):
        raise Forbidden("This contact belongs to a unit outside your token's units")
    if not _writable(principal, after["unit"]):
        raise Forbidden(f"Your token may only write contacts inside {', '.join(principal.units or ())}")
    if data.sent("unit") and data.unit is not None and data.unit not in chunk.known_units:
        raise invalid("unit", f"no unit {data.unit!r} in your organisation; create it first", "unit_missing")
    if len(after["attributes"]) > MAX_ATTRIBUTES:
        raise invalid(
            "attributes",
            f"a contact holds at most {MAX_ATTRIBUTES} attributes; this would make {len(after['attributes'])}",
            "too_many_attributes",
        )


def _apply(chunk: _Chunk, index: int, data: ContactUpsert) -> _Outcome:
    """Merge one item into the chunk's state; nothing is written yet."""
    entry = chunk.entries.get(data.external_id)
    before = entry.state if entry is not None else None
    after = _merge(before, data, chunk.now)
    try:
        _check(chunk, before, after, data)
    except CxloopError as exc:
        return _Outcome(index, "rejected", error=exc)
    if entry is None:
        entry = chunk.entries[data.external_id] = _Entry(id=new_id("ct"), state=after, new=True)
        return _Outcome(index, "created", entry)
    if _same(entry.state, after):
        return _Outcome(index, "unchanged", entry)
    entry.state, entry.dirty = after, True
    return _Outcome(index, "updated", entry)


async def _load_chunk(session: AsyncSession, principal: Principal, items: Sequence[ContactUpsert]) -> _Chunk:
    """The chunk's stored contacts (one query) and which of the units it names exist (one query)."""
    external_ids = {item.external_id for item in items}
    rows = await session.exec(
        select(Contact)
        .where(Contact.org == principal.org, col(Contact.external_id).in_(external_ids))
        .execution_options(populate_existing=True)
    )
    entries = {c.external_id: _Entry(id=c.id, state=_state_of(c), new=False) for c in rows if c.external_id}
    named = {item.unit for item in items if item.sent("unit") and item.unit is not None}
    known: set[str] = set()
    if named:
        paths = await session.exec(select(Unit.path).where(Unit.org == principal.org, col(Unit.path).in_(named)))
        known = set(paths)
    return _Chunk(principal=principal, known_units=known, entries=entries)


def _insert_statement(session: AsyncSession) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: a contact created concurrently is not overwritten."""
    return insert_ignoring_conflicts(session, CONTACTS, conflict_columns=["org", "external_id"]).returning(
        CONTACTS.c.id
    )


async def _write_chunk(session: AsyncSession, chunk: _Chunk) -> set[str]:
    """Insert the chunk's new contacts and update its changed ones; the ids a concurrent insert beat."""
    now, org = chunk.now, chunk.principal.org
    new = [e for e in chunk.entries.values() if e.new]
    changed = [e for e in chunk.entries.values() if e.dirty and not e.new]
    lost: set[str] = set()
    if new:
        fresh = {"org": org, "last_surveyed_at": None, "erased_at": None, "created_at": now, "updated_at": now}
        rows = [{**e.state, **fresh, "id": e.id} for e in new]
        inserted = set((await session.exec(_insert_statement(session), params=rows)).scalars())
        lost = {e.id for e in new} - inserted
    if changed:
        # Never over a tombstone: an erasure that committed since the read wins (the item then changes nothing).
        statement = update(CONTACTS).where(CONTACTS.c.id == bindparam("contact_id"), CONTACTS.c.erased_at.is_(None))
        params = [{**{k: e.state[k] for k in STATE}, "contact_id": e.id, "updated_at": now} for e in changed]
        await session.exec(statement, params=params)
    return lost


async def _upsert_chunk(
    session: AsyncSession, principal: Principal, items: Sequence[tuple[int, ContactUpsert]]
) -> list[_Outcome]:
    """Upsert valid items in order with a constant number of queries; a lost insert race rejects its items."""
    chunk = await _load_chunk(session, principal, [data for _, data in items])
    outcomes = [_apply(chunk, index, data) for index, data in items]
    lost = await _write_chunk(session, chunk)
    for outcome in outcomes:
        if outcome.entry is not None and outcome.entry.id in lost:
            outcome.status, outcome.entry = "rejected", None
            outcome.error = Conflict("Another request created this contact at the same time; retry the item")
    return outcomes


async def upsert_contact(*, session: AsyncSession, principal: Principal, data: ContactUpsert) -> tuple[Contact, bool]:
    """Create or update the org's contact with `data.external_id`; the contact, and whether it was created."""
    for _attempt in range(2):  # after a concurrent create (or erasure) the second pass updates (or creates)
        (outcome,) = await _upsert_chunk(session, principal, [(0, data)])
        if outcome.error is not None and not isinstance(outcome.error, Conflict):
            raise outcome.error
        if outcome.entry is not None:
            # FOR SHARE on PostgreSQL: an erasure waits for us to commit, so it anonymises what we write next.
            contact = await session.get(
                Contact, outcome.entry.id, populate_existing=True, with_for_update={"read": True}
            )
            if contact is not None and contact.erased_at is None:  # else erased meanwhile: the retry creates it
                return contact, outcome.status == "created"
    raise Conflict("Another request created or erased this contact at the same time; retry")


async def upsert_contacts(
    *, session: AsyncSession, principal: Principal, items: Sequence[ContactUpsert]
) -> list[Contact | CxloopError]:
    """Upsert many contacts in order, a constant number of queries per chunk: each item's contact or error."""
    results: list[Contact | CxloopError] = []
    for start in range(0, len(items), CHUNK_SIZE):
        outcomes = await _upsert_chunk(session, principal, list(enumerate(items[start : start + CHUNK_SIZE])))
        ids = {o.entry.id for o in outcomes if o.entry is not None}
        statement = (
            select(Contact)
            .where(col(Contact.id).in_(ids))
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        )
        loaded = {c.id: c for c in (await session.exec(statement)).all()} if ids else {}
        for outcome in outcomes:
            contact = loaded.get(outcome.entry.id) if outcome.entry is not None else None
            if outcome.error is not None:
                results.append(outcome.error)
            elif contact is None or contact.erased_at is not None:
                results.append(Conflict("This contact was erased or created concurrently; retry the item"))
            else:
                results.append(contact)
    return results


def _validate_items(raw: Sequence[Any]) -> tuple[list[tuple[int, ContactUpsert]], list[BulkItemResult]]:
    """Validate every item on its own: the valid ones by index, and a rejection for each invalid one."""
    valid: list[tuple[int, ContactUpsert]] = []
    rejected: list[BulkItemResult] = []
    for index, item in enumerate(raw):
        try:
            valid.append((index, ITEM_ADAPTER.validate_python(item)))
        except ValidationError as exc:
            errors = [
                e if e.field else e.model_copy(update={"field": "item"}) for e in pydantic_field_errors(exc.errors())
            ]
            rejected.append(BulkItemResult(index=index, status="rejected", errors=errors))
    return valid, rejected


def _item_result(outcome: _Outcome) -> BulkItemResult:
    if outcome.error is None:
        return BulkItemResult(
            index=outcome.index, status=outcome.status, id=outcome.entry.id if outcome.entry else None
        )
    errors = outcome.error.errors or [
        FieldError(
            field="unit" if isinstance(outcome.error, Forbidden) else "external_id",
            message=outcome.error.detail or outcome.error.title,
            code=outcome.error.slug,
        )
    ]
    return BulkItemResult(index=outcome.index, status="rejected", errors=errors)


async def bulk_upsert(*, session: AsyncSession, principal: Principal, items: Sequence[Any]) -> BulkResult:
    """Upsert up to 10,000 raw items, in chunks of 1000, each item validated and reported on its own."""
    valid, results = _validate_items(items)
    for start in range(0, len(valid), CHUNK_SIZE):
        outcomes = await _upsert_chunk(session, principal, valid[start : start + CHUNK_SIZE])
        results.extend(_item_result(outcome) for outcome in outcomes)
    results.sort(key=lambda r: r.index)
    result = BulkResult(items=results)
    for item in results:
        setattr(result, item.status, getattr(result, item.status) + 1)
    return result


def _visible(principal: Principal, contact: Contact) -> bool:
    return contact.org == principal.org and contact.erased_at is None and _writable(principal, contact.unit)


async def get_contact(*, session: AsyncSession, principal: Principal, contact_id: str) -> Contact:
    """One live contact of the caller's org and units; 404 otherwise (also after erasure)."""
    contact = await session.get(Contact, contact_id)
    if contact is None or not _visible(principal, contact):
        raise NotFound(f"No contact {contact_id!r}")
    return contact


async def list_contacts(
    *,
    session: AsyncSession,
    principal: Principal,
    external_id: str | None,
    email: str | None,
    unit: str | None,
    updated_since: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Contact], str | None]:
    """A page of the org's live contacts in creation order, filtered; a unit filter takes its subtree."""
    statement = select(Contact).where(Contact.org == principal.org, col(Contact.erased_at).is_(None))
    if principal.units is not None:
        statement = statement.where(in_subtrees(col(Contact.unit), principal.units))
    if external_id is not None:
        statement = statement.where(Contact.external_id == external_id)
    if email is not None:
        statement = statement.where(func.lower(col(Contact.email)) == email.lower())
    if unit is not None:
        statement = statement.where(in_subtrees(col(Contact.unit), [unit]))
    if updated_since is not None:
        statement = statement.where(col(Contact.updated_at) >= updated_since)
    rows = (await session.exec(keyset(statement, col(Contact.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda contact: contact.id)
