"""Outcomes from partner systems: recorded once per `external_id` (one, a batch or a CSV), listed, erased.

An outcome names its contact by the org's `external_id`; a contact that does not exist (or was erased, or lies
outside the caller's units) is an error of that item, never created here. A repeat of an `external_id` with the
same contact, kind, value and time is a duplicate that answers the stored outcome; with anything different it
is a conflict (the partner's id names one fact). Each new outcome and its `outcome.recorded` event are written
in the request's transaction: a whole batch with one INSERT per table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Table, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.contacts.models import Contact, Outcome
from services.survey_api.contacts.outcome_schemas import OutcomeCreate
from services.survey_api.models import OutboxEvent
from services.survey_api.responses.schemas import BatchItem, BatchRejection, BatchResult
from shared import events as ev
from shared.auth import Principal
from shared.db import in_subtrees, utcnow
from shared.errors import Conflict, CxloopError, FieldError, NotFound, pydantic_field_errors
from shared.ids import new_id
from shared.outbox import insert_events
from shared.pagination import keyset, page_of

OUTCOMES: Table = Outcome.__table__  # type: ignore[attr-defined]
ADAPTER: TypeAdapter[OutcomeCreate] = TypeAdapter(OutcomeCreate)
COMPARED = ("contact_id", "kind", "value", "occurred_at")

Status = Literal["accepted", "duplicate", "rejected"]


@dataclass
class Recorded:
    """What one item did: its index, status, the outcome's columns, or the error that rejected it."""

    index: int
    status: Status
    row: dict[str, Any] | None = None
    error: CxloopError | None = None


def _columns(outcome: Outcome) -> dict[str, Any]:
    return {name: getattr(outcome, name) for name in OUTCOMES.c.keys()}  # noqa: SIM118 - a Table's columns


async def _contacts(session: AsyncSession, principal: Principal, external_ids: set[str]) -> dict[str, str]:
    """The live contacts these external ids name, inside the caller's units: external id → contact id."""
    if not external_ids:
        return {}
    statement = select(Contact.external_id, Contact.id, Contact.unit).where(
        Contact.org == principal.org, col(Contact.external_id).in_(external_ids)
    )
    return {
        external: contact
        for external, contact, unit in (await session.exec(statement)).all()
        if external and (principal.units is None or (unit is not None and principal.sees_unit(unit)))
    }


async def _stored(session: AsyncSession, org: str, external_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The outcomes already stored under these external ids."""
    if not external_ids:
        return {}
    rows = await session.exec(select(Outcome).where(Outcome.org == org, col(Outcome.external_id).in_(external_ids)))
    return {outcome.external_id: _columns(outcome) for outcome in rows}


def _same(row: dict[str, Any], other: dict[str, Any]) -> bool:
    return all(row[name] == other[name] for name in COMPARED)


def _new_row(org: str, contact_id: str, data: OutcomeCreate, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": new_id("out"),
        "org": org,
        "external_id": data.external_id,
        "contact_id": contact_id,
        "kind": data.kind,
        "value": data.value,
        "occurred_at": data.occurred_at,
        "created_at": now,
    }


def _event(row: dict[str, Any]) -> ev.EventEnvelope:
    data = ev.OutcomeRecordedData(
        outcome_id=row["id"],
        external_id=row["external_id"],
        contact_id=row["contact_id"],
        kind=row["kind"],
        value=row["value"],
        occurred_at=row["occurred_at"],
        recorded_at=row["created_at"],
    )
    return ev.OUTCOME_RECORDED_EVENT.envelope(org=row["org"], data=data)


def _decide(
    index: int, data: OutcomeCreate, contact_id: str | None, seen: dict[str, dict[str, Any]], org: str
) -> Recorded:
    """Accept, find as a duplicate, or reject one item against what is stored or staged (`seen`, updated)."""
    if contact_id is None:
        unknown = NotFound(
            f"No contact {data.contact.external_id!r}; create it first (POST /v1/contacts)",
            errors=[FieldError(field="contact.external_id", message="no such contact", code="unknown_contact")],
        )
        return Recorded(index, "rejected", error=unknown)
    row = _new_row(org, contact_id, data, utcnow())
    earlier = seen.get(data.external_id)
    if earlier is None:
        seen[data.external_id] = row
        return Recorded(index, "accepted", row)
    if _same(earlier, row):
        return Recorded(index, "duplicate", earlier)
    clash = Conflict(
        f"Outcome {data.external_id!r} already exists with another contact, kind, value or time",
        errors=[FieldError(field="external_id", message="already used for another outcome", code="conflict")],
    )
    return Recorded(index, "rejected", error=clash)


async def _write(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert the new outcomes and their events (409 when another request stored one of them meanwhile)."""
    if not rows:
        return
    try:
        await session.exec(insert(OUTCOMES), params=rows)  # type: ignore[call-overload]
    except IntegrityError as exc:
        raise Conflict("An outcome with this external_id was stored concurrently; retry to see it") from exc
    await insert_events(session, OutboxEvent, [_event(row) for row in rows])


async def record(
    *, session: AsyncSession, principal: Principal, items: Sequence[tuple[int, OutcomeCreate]]
) -> list[Recorded]:
    """Record valid outcomes (two reads, one write): each accepted, a duplicate, or rejected with its error."""
    contacts = await _contacts(session, principal, {data.contact.external_id for _, data in items})
    seen = await _stored(session, principal.org, {data.external_id for _, data in items})
    results = [
        _decide(index, data, contacts.get(data.contact.external_id), seen, principal.org) for index, data in items
    ]
    await _write(session, [r.row for r in results if r.status == "accepted" and r.row is not None])
    return results


async def record_one(*, session: AsyncSession, principal: Principal, data: OutcomeCreate) -> tuple[Outcome, bool]:
    """Record one outcome, and whether it is new: 404 for an unknown contact, 409 for a clashing repeat."""
    (result,) = await record(session=session, principal=principal, items=[(0, data)])
    if result.error is not None:
        raise result.error
    assert result.row is not None
    return Outcome(**result.row), result.status == "accepted"


def _rejection(index: int, exc: CxloopError | ValidationError) -> BatchRejection:
    if isinstance(exc, ValidationError):
        return BatchRejection(index=index, errors=pydantic_field_errors(exc.errors()))
    errors = exc.errors or [FieldError(field="", message=exc.detail or exc.title, code=exc.slug)]
    return BatchRejection(index=index, errors=errors)


async def record_batch(
    *, session: AsyncSession, principal: Principal, items: Sequence[tuple[int, dict[str, Any]]]
) -> BatchResult:
    """Record raw items (index, body): each validated on its own; the answer says what happened to each."""
    parsed: list[tuple[int, OutcomeCreate]] = []
    rejected: list[BatchRejection] = []
    for index, raw in items:
        try:
            parsed.append((index, ADAPTER.validate_python(raw)))
        except ValidationError as exc:
            rejected.append(_rejection(index, exc))
    results = await record(session=session, principal=principal, items=parsed)
    rejected += [_rejection(r.index, r.error) for r in results if r.error is not None]
    done = [
        BatchItem(index=r.index, id=r.row["id"], status=r.status)
        for r in results
        if r.row is not None and r.status != "rejected"
    ]
    accepted = sum(1 for item in done if item.status == "accepted")
    return BatchResult(
        accepted=accepted,
        duplicates=len(done) - accepted,
        rejected=sorted(rejected, key=lambda r: r.index),
        items=sorted(done, key=lambda item: item.index),
    )


async def list_outcomes(
    *,
    session: AsyncSession,
    principal: Principal,
    contact_id: str | None,
    kind: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Outcome], str | None]:
    """A page of the org's outcomes (of contacts inside the caller's units), in the order they were recorded."""
    statement = select(Outcome).where(Outcome.org == principal.org)
    if principal.units is not None:
        statement = statement.join(Contact, col(Contact.id) == col(Outcome.contact_id)).where(
            in_subtrees(col(Contact.unit), principal.units)
        )
    if contact_id is not None:
        statement = statement.where(col(Outcome.contact_id) == contact_id)
    if kind is not None:
        statement = statement.where(col(Outcome.kind) == kind)
    if since is not None:
        statement = statement.where(col(Outcome.occurred_at) >= since)
    if until is not None:
        statement = statement.where(col(Outcome.occurred_at) < until)
    rows = (await session.exec(keyset(statement, col(Outcome.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda outcome: outcome.id)


async def erase_outcomes(session: AsyncSession, org: str, contact_id: str) -> list[str]:
    """Delete every outcome of a contact (its erasure); their ids."""
    ids = list(
        (await session.exec(select(Outcome.id).where(Outcome.org == org, Outcome.contact_id == contact_id))).all()
    )
    if ids:
        await session.exec(delete(OUTCOMES).where(OUTCOMES.c.org == org, OUTCOMES.c.contact_id == contact_id))
    return ids
