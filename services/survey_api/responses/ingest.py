"""Responses from partners: accept one or a batch exactly once, merge partial answers, read them back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import psycopg
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey, SurveyVersion, Unit
from services.survey_api.contacts.directory import upsert_contact, upsert_contacts
from services.survey_api.contacts.models import Contact
from services.survey_api.models import OutboxEvent
from services.survey_api.responses.answers import check_answers, normalise, version_questions
from services.survey_api.responses.filters import ResponseFilters, filtered
from services.survey_api.responses.models import SurveyResponse
from services.survey_api.responses.published import SurveyState, answerable
from services.survey_api.responses.schemas import BatchItem, BatchRejection, BatchResult, ResponseCreate, ResponseUpdate
from shared import events as ev
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import (
    Conflict,
    CxloopError,
    FieldError,
    Forbidden,
    NotFound,
    Unprocessable,
    invalid,
    pydantic_field_errors,
)
from shared.ids import new_id
from shared.outbox import add_event, copy_events, insert_events, insert_events_raw
from shared.pagination import keyset, page_of
from shared.rawsql import copy_rows, driver_of, insert_sql

_create_adapter = TypeAdapter(ResponseCreate)
COPY_FROM = 50  # rows from which a batch is written with COPY on PostgreSQL (fewer: one multi-row INSERT)
RESPONSES: Table = SurveyResponse.__table__  # type: ignore[attr-defined]


@dataclass
class IngestContext:
    """What one request learns once and reuses for every item: survey versions, units, earlier responses."""

    session: AsyncSession
    principal: Principal
    versions: dict[str, tuple[Survey | SurveyState, SurveyVersion] | CxloopError] = field(default_factory=dict)
    units: dict[str, bool] = field(default_factory=dict)
    seen: dict[tuple[str, str], SurveyResponse | Prepared] = field(default_factory=dict)
    hidden: set[tuple[str, str]] = field(default_factory=set)  # external ids taken outside the caller's units

    async def version(self, survey_id: str) -> tuple[Survey | SurveyState, SurveyVersion]:
        """The survey and the version a new response answers (cached; errors too)."""
        if survey_id not in self.versions:
            try:
                self.versions[survey_id] = await answerable(
                    session=self.session, org=self.principal.org, survey_id=survey_id
                )
            except CxloopError as exc:
                self.versions[survey_id] = exc
        found = self.versions[survey_id]
        if isinstance(found, CxloopError):
            raise found
        return found

    async def preload(self, items: Sequence[ResponseCreate]) -> None:
        """Fetch the units and the earlier responses (by external id) a batch refers to, in two queries."""
        paths = {i.unit for i in items if i.unit} | {i.contact.unit for i in items if i.contact and i.contact.unit}
        if paths:
            rows = await self.session.exec(
                select(Unit.path).where(Unit.org == self.principal.org, col(Unit.path).in_(paths))
            )
            known = set(rows.all())
            self.units.update({p: p in known for p in paths})
        keys = {(i.survey_id, i.external_id) for i in items if i.external_id}
        if keys:
            statement = select(SurveyResponse).where(
                SurveyResponse.org == self.principal.org,
                col(SurveyResponse.survey_id).in_({s for s, _ in keys}),
                col(SurveyResponse.external_id).in_({e for _, e in keys}),
            )
            for response in (await self.session.exec(statement)).all():
                key = (response.survey_id, response.external_id or "")
                if _visible(self.principal, response):
                    self.seen[key] = response
                else:  # another unit's response: neither its answers nor its id reach this caller
                    self.hidden.add(key)

    async def unit_exists(self, path: str) -> bool:
        """Whether the org has a unit at `path`."""
        if path not in self.units:
            found = await self.session.exec(select(Unit.id).where(Unit.org == self.principal.org, Unit.path == path))
            self.units[path] = found.first() is not None
        return self.units[path]


def response_event(
    response: SurveyResponse | SimpleNamespace, version: SurveyVersion, event_type: str, *, purpose: str
) -> ev.EventEnvelope:
    """The self-contained event a consumer needs: the response, its questions' kinds and scales, its context
    (`purpose` is the survey's now: it is not versioned)."""
    questions = version_questions(version)
    data = ev.ResponseData(
        response_id=response.id,
        survey_id=response.survey_id,
        survey_version=response.survey_version,
        survey_kind=version.kind,
        audience=version.audience,
        purpose=purpose,
        touchpoint_id=response.touchpoint_id,
        channel=response.channel,
        source=response.source,
        unit=response.unit,
        contact_id=response.contact_id,
        attributes=response.attributes,
        language=response.language,
        default_language=version.default_language,
        questions=[
            ev.QuestionInfo(key=q.key, kind=q.kind, scale_min=q.scale_min, scale_max=q.scale_max) for q in questions
        ],
        answers=response.answers,
        finished=response.finished,
        submitted_at=response.submitted_at,
        completed_at=response.completed_at,
        updated_at=response.updated_at,
    )
    return ev.build_event(event_type, org=response.org, data=data)


def _raise_if_any(errors: list[FieldError]) -> None:
    if errors:
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors)[:1000], errors=errors)


async def _checked_unit(ctx: IngestContext, path: str | None) -> str | None:
    if path is None:
        if ctx.principal.units is not None:
            raise Forbidden("A token restricted to units must name the response's unit")
        return None
    if not ctx.principal.sees_unit(path):
        raise Forbidden(f"Your token may not write responses for unit {path!r}")
    if not await ctx.unit_exists(path):
        raise invalid("unit", f"unit {path!r} does not exist", "unknown_unit")
    return path


def _duplicate_of(
    ctx: IngestContext, data: ResponseCreate, answers: dict[str, Any]
) -> SurveyResponse | Prepared | None:
    if data.external_id is None:
        return None
    if (data.survey_id, data.external_id) in ctx.hidden:
        raise Conflict(f"The external_id {data.external_id!r} of this survey is already taken")
    earlier = ctx.seen.get((data.survey_id, data.external_id))
    if earlier is not None and earlier.answers != answers:
        where = f"; PATCH /v1/responses/{earlier.id} to change it" if isinstance(earlier, SurveyResponse) else ""
        raise Conflict(f"Response {data.external_id!r} of this survey already exists with other answers{where}")
    return earlier


@dataclass
class Prepared:
    """A response that passed every check that needs no write: ready to store once its contact is known."""

    data: ResponseCreate
    survey: Survey | SurveyState
    version: SurveyVersion
    answers: dict[str, Any]
    unit: str | None
    response: SurveyResponse | SimpleNamespace | None = None  # once stored (a SimpleNamespace when written in bulk)


@dataclass
class Duplicate:
    """A response already stored, or prepared earlier in the same batch, with the same external_id and answers."""

    of: SurveyResponse | Prepared

    @property
    def response(self) -> SurveyResponse | SimpleNamespace | None:
        """The stored response it duplicates (None if its batch twin was rejected when stored)."""
        return self.of if isinstance(self.of, SurveyResponse) else self.of.response


async def prepare(ctx: IngestContext, data: ResponseCreate) -> Prepared | Duplicate:
    """Check a response against its survey version and the org; or the earlier response it duplicates."""
    survey, version = await ctx.version(data.survey_id)
    answers = normalise(data.answers)
    _raise_if_any(check_answers(version_questions(version), answers, finished=data.finished))
    unit = await _checked_unit(ctx, data.unit) if data.unit or not data.contact else None
    contact_unit = data.contact.unit if data.contact is not None else None
    if unit is None and contact_unit is not None and not ctx.principal.sees_unit(contact_unit):
        raise Forbidden(f"Your token may not write responses for unit {contact_unit!r}")  # before any lookup
    earlier = _duplicate_of(ctx, data, answers)
    if earlier is not None:
        return Duplicate(earlier)
    prepared = Prepared(data, survey, version, answers, unit)
    if data.external_id is not None:  # a later copy in the same batch is a duplicate of this one
        ctx.seen[(data.survey_id, data.external_id)] = prepared
    return prepared


async def _response_fields(ctx: IngestContext, item: Prepared, contact: Contact | None, source: str) -> dict[str, Any]:
    """The columns of a prepared response; the unit falls back to the contact's."""
    data, version, now = item.data, item.version, utcnow()
    unit = item.unit or (await _checked_unit(ctx, contact.unit) if contact is not None else None)
    return {
        "id": new_id("rsp"),
        "org": ctx.principal.org,
        "survey_id": item.survey.id,
        "survey_version": version.version,
        "external_id": data.external_id,
        "contact_id": contact.id if contact else None,
        "channel": data.channel,
        "source": source,
        "language": data.language or (contact.locale if contact else None),
        "unit": unit,
        "touchpoint_id": version.touchpoint_id,
        "attributes": dict(contact.attributes) if contact else {},
        "answers": item.answers,
        "finished": data.finished,
        "submitted_at": data.submitted_at or now,
        "completed_at": now if data.finished else None,
        "anonymised_at": None,
        "created_at": now,
        "updated_at": now,
    }


def _event_type(response: SurveyResponse | SimpleNamespace) -> str:
    return ev.RESPONSE_COMPLETED if response.finished else ev.RESPONSE_UPDATED


class StoredConcurrently(Conflict):
    """Another request stored a response with the same external_id between our check and our write."""


class BulkWriter:
    """Many prepared responses and their events, written with one INSERT per table instead of ORM objects
    (a batch's hot path: building and flushing 2,000 ORM objects cost more than everything else)."""

    def __init__(self, ctx: IngestContext) -> None:
        self.ctx = ctx
        self.rows: list[dict[str, Any]] = []
        self.events: list[ev.EventEnvelope] = []

    async def add(self, item: Prepared, contact: Contact | None, *, source: str = "partner") -> SimpleNamespace:
        """Stage one response (and its event); what is returned holds its columns as attributes."""
        fields = await _response_fields(self.ctx, item, contact, source)
        response = SimpleNamespace(**fields)
        self.rows.append(fields)
        self.events.append(response_event(response, item.version, _event_type(response), purpose=item.survey.purpose))
        item.response = response
        return response

    async def write(self) -> None:
        """Insert the staged rows and events in the current transaction (409 on a concurrent external_id)."""
        session = self.ctx.session
        try:
            await session.flush()  # contacts first: the responses refer to them
            driver = await driver_of(session)
            if driver.is_postgres and len(self.rows) >= COPY_FROM:
                await copy_rows(driver, RESPONSES, self.rows)
            elif self.rows:
                await session.exec(insert(RESPONSES), params=self.rows)  # type: ignore[call-overload]
        except (IntegrityError, psycopg.IntegrityError) as exc:  # the same external_id stored meanwhile
            raise StoredConcurrently(
                "A response with this external_id was stored concurrently; retry to see it"
            ) from exc
        await (copy_events if len(self.events) >= COPY_FROM else insert_events)(session, OutboxEvent, self.events)


async def store(
    ctx: IngestContext, item: Prepared, contact: Contact | None, *, source: str = "partner"
) -> SurveyResponse:
    """Write one prepared response and its event: the bulk writer's rows, for one (the one writer of both)."""
    writer = BulkWriter(ctx)
    staged = await writer.add(item, contact, source=source)
    await writer.write()
    return SurveyResponse(**vars(staged))  # the stored row as a value (not tracked by the session)


async def create_response(
    *, session: AsyncSession, principal: Principal, data: ResponseCreate
) -> tuple[SurveyResponse | SimpleNamespace, bool]:
    """Accept one partner response, and whether it was created: a repeat of the same external_id and answers
    is found, not stored (also when the two arrive at once: the second waits for the first's commit)."""
    ctx = IngestContext(session, principal)
    if data.contact is not None:  # a duplicate is found before its contact is touched
        await ctx.preload([data])
    prepared = await prepare(ctx, data)
    if isinstance(prepared, Duplicate):
        assert isinstance(prepared.response, SurveyResponse)  # a single request has no batch twins
        return prepared.response, False
    contact = None
    if data.contact is not None:
        contact, _ = await upsert_contact(session=session, principal=principal, data=data.contact)
        await session.flush()  # the response refers to it
    stored = await _store_single(ctx, prepared, contact)
    if stored is None:
        return await _twin(session, principal, data, prepared.answers), False
    return stored, True


async def _store_single(ctx: IngestContext, item: Prepared, contact: Contact | None) -> SimpleNamespace | None:
    """INSERT the response (nothing if its external_id is taken) and its event, under the ORM; None if taken."""
    fields = await _response_fields(ctx, item, contact, "partner")
    driver = await driver_of(ctx.session)
    columns = tuple(fields)
    conflict = ("survey_id", "external_id") if fields["external_id"] is not None else ()
    sql = insert_sql(RESPONSES, driver.dialect, columns, conflict=conflict, returning="id")
    if not await driver.execute(sql, driver.table(RESPONSES).values(columns, fields)):
        return None
    response = SimpleNamespace(**fields)
    event = response_event(response, item.version, _event_type(response), purpose=item.survey.purpose)
    await insert_events_raw(ctx.session, OutboxEvent, [event])
    return response


async def _twin(
    session: AsyncSession, principal: Principal, data: ResponseCreate, answers: dict[str, Any]
) -> SurveyResponse:
    """The response stored earlier (or by a concurrent request, now committed) under this external_id: a
    duplicate if it has these answers and the caller may see it, else 409."""
    statement = select(SurveyResponse).where(
        SurveyResponse.org == principal.org,
        SurveyResponse.survey_id == data.survey_id,
        SurveyResponse.external_id == data.external_id,
    )
    twin = (await session.exec(statement)).first()
    if twin is None or not _visible(principal, twin):
        raise Conflict(f"The external_id {data.external_id!r} of this survey is already taken")
    if twin.answers != answers:
        raise Conflict(
            f"Response {data.external_id!r} of this survey already exists with other answers; "
            f"PATCH /v1/responses/{twin.id} to change it"
        )
    return twin


def _rejection(index: int, exc: CxloopError | ValidationError) -> BatchRejection:
    if isinstance(exc, ValidationError):
        errors = pydantic_field_errors(exc.errors())
    else:
        errors = exc.errors or [FieldError(field="", message=exc.detail or exc.title, code=exc.slug)]
    return BatchRejection(index=index, errors=errors)


async def _prepare_all(
    ctx: IngestContext, parsed: dict[int, ResponseCreate]
) -> tuple[dict[int, Prepared], dict[int, Duplicate], list[BatchRejection]]:
    prepared: dict[int, Prepared] = {}
    duplicates: dict[int, Duplicate] = {}
    rejected: list[BatchRejection] = []
    for index, data in parsed.items():
        try:
            outcome = await prepare(ctx, data)
        except CxloopError as exc:
            rejected.append(_rejection(index, exc))
            continue
        if isinstance(outcome, Duplicate):
            duplicates[index] = outcome
        else:
            prepared[index] = outcome
    return prepared, duplicates, rejected


async def create_batch(*, session: AsyncSession, principal: Principal, items: list[dict[str, Any]]) -> BatchResult:
    """Accept up to 1,000 responses: each accepted, found as a duplicate, or rejected with every problem."""
    parsed: dict[int, ResponseCreate] = {}
    rejected: list[BatchRejection] = []
    for index, raw in enumerate(items):
        try:
            parsed[index] = _create_adapter.validate_python(raw)
        except ValidationError as exc:
            rejected.append(_rejection(index, exc))
    ctx = IngestContext(session, principal)
    await ctx.preload(list(parsed.values()))
    prepared, duplicates, refused = await _prepare_all(ctx, parsed)
    rejected += refused
    with_contact = [i for i, p in prepared.items() if p.data.contact is not None]
    contacts = await upsert_contacts(
        session=session,
        principal=principal,
        items=[prepared[i].data.contact for i in with_contact],  # type: ignore[misc]
    )
    contact_of: dict[int, Contact | CxloopError] = dict(zip(with_contact, contacts, strict=True))
    stored: dict[int, SimpleNamespace] = {}
    writer = BulkWriter(ctx)
    for index, item in prepared.items():
        contact = contact_of.get(index)
        try:
            if isinstance(contact, CxloopError):
                raise contact
            stored[index] = await writer.add(item, contact)
        except CxloopError as exc:
            rejected.append(_rejection(index, exc))
    await writer.write()
    return _batch_result(stored, duplicates, rejected)


def _batch_result(
    stored: dict[int, SimpleNamespace], duplicates: dict[int, Duplicate], rejected: list[BatchRejection]
) -> BatchResult:
    items = [BatchItem(index=i, id=r.id, status="accepted") for i, r in stored.items()]
    for index, duplicate in duplicates.items():
        if duplicate.response is None:  # its twin earlier in this batch was rejected, and so is it
            problem = FieldError(field="external_id", message="its first copy in this batch was rejected", code="twin")
            rejected.append(BatchRejection(index=index, errors=[problem]))
        else:
            items.append(BatchItem(index=index, id=duplicate.response.id, status="duplicate"))
    items.sort(key=lambda item: item.index)
    rejected.sort(key=lambda r: r.index)
    accepted = len(stored)
    return BatchResult(accepted=accepted, duplicates=len(items) - accepted, rejected=rejected, items=items)


async def get_response(*, session: AsyncSession, principal: Principal, response_id: str) -> SurveyResponse:
    """One response of the caller's org (and units); 404 otherwise."""
    response = await session.get(SurveyResponse, response_id)
    if response is None or response.org != principal.org or not _visible(principal, response):
        raise NotFound(f"No response {response_id!r}")
    return response


def _visible(principal: Principal, response: SurveyResponse) -> bool:
    return principal.units is None or (response.unit is not None and principal.sees_unit(response.unit))


async def update_response(
    *, session: AsyncSession, principal: Principal, response_id: str, data: ResponseUpdate
) -> SurveyResponse:
    """Merge more answers into an unfinished response (null removes one); finishing checks it whole."""
    response = await get_response(session=session, principal=principal, response_id=response_id)
    if response.finished:
        raise Conflict("This response is finished; its answers can no longer change")
    version = (
        await session.exec(
            select(SurveyVersion).where(
                SurveyVersion.survey_id == response.survey_id, SurveyVersion.version == response.survey_version
            )
        )
    ).one()
    merged = normalise({**response.answers, **data.answers})
    finished = bool(data.finished)
    _raise_if_any(check_answers(version_questions(version), merged, finished=finished))
    now = utcnow()
    response.answers, response.finished, response.updated_at = merged, finished, now
    response.completed_at = now if finished else None
    session.add(response)
    survey = await session.get(Survey, response.survey_id)
    purpose = survey.purpose if survey is not None else "standard"
    event_type = ev.RESPONSE_COMPLETED if finished else ev.RESPONSE_UPDATED
    add_event(session, OutboxEvent, response_event(response, version, event_type, purpose=purpose))
    await session.flush()
    return response


async def list_responses(
    *, session: AsyncSession, principal: Principal, filters: ResponseFilters, limit: int, cursor: str | None
) -> tuple[list[SurveyResponse], str | None]:
    """A page of the org's responses, oldest first, narrowed by `filters`."""
    statement = filtered(select(SurveyResponse), principal=principal, filters=filters)
    rows = (await session.exec(keyset(statement, col(SurveyResponse.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda r: r.id)
