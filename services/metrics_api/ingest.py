"""Ingest: `response.*`, `contact.erased` and `invitation.*` events become facts, in the request's transaction.

A response counts only once finished: a partial one (`response.updated` with `finished: false`) has no facts,
as in every CX platform, so its scores appear when it is completed. Each response event REPLACES the facts of
its response (never counted twice), unless it is older than what was applied (`updated_at`; events may arrive
out of order). Rollups move with the facts: the batch's deltas are summed in memory, then upserted once.
`contact.erased` removes the contact id and attribute snapshot from the facts of the listed responses (and
any with that contact id); a response event of an erased response that arrives later is stored anonymised.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Table, case, delete, insert, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.models import ErasedContact, InvitationFact, ReasonFact, ResponseState, ScoreFact
from services.metrics_api.rollups import DIMENSIONS, FactDims, RollupDeltas, org_zone
from services.metrics_api.sql import dialect_insert, insert_missing, upsert_replacing
from services.metrics_api.themes.facts import comment_facts_of, replace_comments
from shared.consumer import Received
from shared.events import ContactErasedData, InvitationData, ResponseData

logger = logging.getLogger("cxloop.metrics.ingest")

FACTS: Table = ScoreFact.__table__  # type: ignore[attr-defined]
REASONS: Table = ReasonFact.__table__  # type: ignore[attr-defined]
STATES: Table = ResponseState.__table__  # type: ignore[attr-defined]
INVITATIONS: Table = InvitationFact.__table__  # type: ignore[attr-defined]
ERASED: Table = ErasedContact.__table__  # type: ignore[attr-defined]
# The scored kinds and their default scales (survey_api always sends the scale; the default is a fallback).
SCORED_SCALES: dict[str, tuple[int, int]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
    "rating": (1, 5),
    "emotion": (1, 5),
}
# A success answer is stored as a score on a 0-2 scale, so it rolls up into histograms like every other:
# no = 0, partly = 1, yes = 2 (h0 = no, h1 = partly, h2 = yes). The metric weighs partly by `partly_weight`.
SUCCESS_SCORES: dict[str, int] = {"no": 0, "partly": 1, "yes": 2}
SUCCESS_SCALE = (0, 2)
DELIVERED_OR_LATER = frozenset({"delivered", "opened", "displayed", "started", "completed"})
INVITATION_TIMES = ("invited_at", "sent_at", "delivered_at", "completed_at", "bounced_at")
CHUNK = 1000
CUSTOMERS, EMPLOYEES = "customers", "employees"
STANDARD, FOLLOWUP = "standard", "followup"


class State(NamedTuple):
    """What was applied of a response."""

    org: str
    updated_at: dt.datetime | None
    erased: bool


class Zones:
    """The orgs' time zones, read once per batch."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.known: dict[str, ZoneInfo] = {}

    async def of(self, org: str) -> ZoneInfo:
        """The time zone of `org`."""
        if org not in self.known:
            self.known[org] = await org_zone(self.session, org)
        return self.known[org]


def _utc(instant: dt.datetime) -> dt.datetime:
    return instant.replace(tzinfo=dt.UTC) if instant.tzinfo is None else instant.astimezone(dt.UTC)


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


async def apply_erasures(session: AsyncSession, events: list[Received[ContactErasedData]]) -> None:
    """Drop contact id and attributes from the facts of each erased contact; mark its responses erased."""
    for received in events:
        event, data = received.envelope, received.data
        erased = {"org": event.org, "contact_id": data.contact_id, "erased_at": _utc(data.erased_at)}
        await insert_missing(session, ERASED, [erased], key=["org", "contact_id"])
        of_contact = select(FACTS.c.response_id).where(FACTS.c.org == event.org, FACTS.c.contact_id == data.contact_id)
        ids = sorted(set(data.response_ids) | set((await session.exec(of_contact)).all()))
        for chunk in _chunks(ids):
            condition = FACTS.c.org == event.org, FACTS.c.response_id.in_(chunk)
            await session.exec(update(FACTS).where(*condition).values(contact_id=None, attributes={}))
            rows = [
                {"response_id": r, "org": event.org, "updated_at": None, "finished": False, "erased": True}
                for r in chunk
            ]
            await insert_missing(session, STATES, rows, key=["response_id"])
            await session.exec(
                update(STATES).where(STATES.c.org == event.org, STATES.c.response_id.in_(chunk)).values(erased=True)
            )


def _newest(events: list[Received[ResponseData]]) -> dict[str, tuple[str, ResponseData]]:
    """Per response, the newest state in the batch (by `updated_at`; the later event wins a tie)."""
    newest: dict[str, tuple[str, ResponseData]] = {}
    for received in events:
        event, data = received.envelope, received.data
        held = newest.get(data.response_id)
        if held is None or _utc(data.updated_at) >= _utc(held[1].updated_at):
            newest[data.response_id] = (event.org, data)
    return newest


async def _lock_states(session: AsyncSession, orgs: dict[str, str]) -> dict[str, State]:
    """The applied state of each response, row-locked (PostgreSQL) so concurrent batches apply one at a time."""
    ids = sorted(orgs)
    placeholders = [
        {"response_id": r, "org": orgs[r], "updated_at": None, "finished": False, "erased": False} for r in ids
    ]
    await insert_missing(session, STATES, placeholders, key=["response_id"])
    query = (
        select(STATES.c.response_id, STATES.c.org, STATES.c.updated_at, STATES.c.erased)
        .where(STATES.c.response_id.in_(ids))
        .order_by(STATES.c.response_id)
        .with_for_update()
    )
    return {row[0]: State(row[1], row[2], row[3]) for row in (await session.exec(query)).all()}


def _applies(state: State, org: str, data: ResponseData) -> bool:
    if state.org != org:
        logger.error("response %s belongs to another org; event of %s ignored", data.response_id, org)
        return False
    return state.updated_at is None or _utc(data.updated_at) > _utc(state.updated_at)


def _snapshot(attributes: dict[str, Any]) -> dict[str, str]:
    """Scalar attributes as strings (`true`, `3`, `gold`), so filters and groups compare one way everywhere."""
    snapshot = {}
    for key, value in attributes.items():
        if isinstance(value, bool):
            snapshot[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            snapshot[key] = str(value)
    return snapshot


def _scale(kind: str, low: int | None, high: int | None) -> tuple[int, int]:
    default_low, default_high = SCORED_SCALES[kind]
    return (default_low if low is None else low), (default_high if high is None else high)


def facts_of(
    org: str, data: ResponseData, zone: ZoneInfo, *, erased: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The score facts and reason facts of a response state: none unless finished."""
    if not data.finished:
        return [], []
    context = fact_context(org, data, zone, erased=erased)
    scores: list[dict[str, Any]] = []
    reasons: list[dict[str, Any]] = []
    for question in {q.key: q for q in data.questions}.values():
        value = data.answers.get(question.key)
        if question.kind in SCORED_SCALES:
            low, high = _scale(question.kind, question.scale_min, question.scale_max)
            # survey_api refuses anything else; a bool is not a score although Python calls it an int
            if type(value) is int and 0 <= low <= value <= high <= 10:
                answer = {"question": question.key, "survey_version": data.survey_version, "kind": question.kind}
                answer |= {"scale_min": low, "scale_max": high, "score": value}
                scores.append(context | answer)
        elif question.kind == "success" and isinstance(value, str) and value in SUCCESS_SCORES:
            answer = {"question": question.key, "survey_version": data.survey_version, "kind": "success"}
            answer |= {"scale_min": SUCCESS_SCALE[0], "scale_max": SUCCESS_SCALE[1], "score": SUCCESS_SCORES[value]}
            scores.append(context | answer)
        elif question.kind == "reasons" and isinstance(value, list):
            codes = dict.fromkeys(v for v in value if isinstance(v, str) and 0 < len(v) <= 40)
            common = {k: v for k, v in context.items() if k not in ("contact_id", "attributes")}
            reasons += [common | {"question": question.key, "code": code} for code in codes]
    return scores, reasons


def fact_context(org: str, data: ResponseData, zone: ZoneInfo, *, erased: bool) -> dict[str, Any]:
    """What every fact of a response carries: its dimensions, and who answered (none for employees or erased)."""
    submitted = _utc(data.submitted_at)
    common: dict[str, Any] = {
        "org": org,
        "response_id": data.response_id,
        "survey_id": data.survey_id,
        "channel": data.channel,
    }
    common |= {"touchpoint_id": data.touchpoint_id, "unit": data.unit or "", "submitted_at": submitted}
    common |= {"day": submitted.astimezone(zone).date(), **population(data)}
    person: dict[str, Any] = {"contact_id": data.contact_id, "attributes": _snapshot(data.attributes)}
    if common["audience"] == EMPLOYEES:  # employee answers are anonymous: who answered is never kept here
        person["contact_id"] = None
    if erased:
        person = {"contact_id": None, "attributes": {}}
    return common | person


def population(data: ResponseData) -> dict[str, str]:
    """The audience and purpose of a response's survey, anything unknown read as the defaults."""
    audience = EMPLOYEES if data.audience == EMPLOYEES else CUSTOMERS
    return {"audience": audience, "purpose": FOLLOWUP if data.purpose == FOLLOWUP else STANDARD}


def dims_of(row: Any) -> FactDims:
    """The rollup dimensions of a fact row (a mapping with those names)."""
    return FactDims(**{name: row[name] for name in DIMENSIONS})


async def _replace_facts(session: AsyncSession, ids: list[str], deltas: RollupDeltas) -> None:
    """Delete the facts of these responses, counting their removal in `deltas`."""
    old = select(*(FACTS.c[c] for c in ("response_id", *DIMENSIONS, "score"))).where(FACTS.c.response_id.in_(ids))
    reason_columns = ("response_id", "org", "unit", "day", "audience", "purpose", "survey_id", "question", "code")
    cited = select(*(REASONS.c[c] for c in reason_columns)).where(REASONS.c.response_id.in_(ids))
    scores = (await session.exec(old)).mappings().all()
    count_facts(deltas, scores, (await session.exec(cited)).mappings().all(), sign=-1)
    await session.exec(delete(FACTS).where(FACTS.c.response_id.in_(ids)))
    await session.exec(delete(REASONS).where(REASONS.c.response_id.in_(ids)))


def count_facts(
    deltas: RollupDeltas, scores: Iterable[Mapping[str, Any]], reasons: Iterable[Mapping[str, Any]], *, sign: int
) -> None:
    """Count score facts (and their responses) and reason facts in `deltas`: added (sign 1) or removed (-1)."""
    responses: dict[str, tuple[str, str, dt.date, tuple[str, str]]] = {}
    nps: dict[str, list[int]] = {}  # per response, its NPS scores: the reason x NPS score rollup
    for row in scores:
        deltas.add_score(dims_of(row), row["score"], sign)
        responses[row["response_id"]] = (row["org"], row["unit"], row["day"], (row["audience"], row["purpose"]))
        if row["kind"] == "nps":
            nps.setdefault(row["response_id"], []).append(row["score"])
    for org, unit, day, who in responses.values():
        deltas.add_responses(org, unit, day, who, sign)
    for row in reasons:
        who = (row["audience"], row["purpose"])
        deltas.add_reasons(row["org"], row["unit"], row["day"], who, row["code"], sign)
        cited = FactDims(row["org"], row["unit"], row["day"], *who, row["survey_id"], row["question"], "reasons", 0, 0)
        for score in nps.get(row["response_id"], ()):
            deltas.add_reason_score(cited, row["code"], score, sign)


async def _erased_contacts(session: AsyncSession, pairs: list[tuple[str, str | None]]) -> set[tuple[str, str]]:
    """Which of these (org, contact) pairs name an erased contact."""
    contacts = sorted({contact for _, contact in pairs if contact})
    if not contacts:
        return set()
    query = select(ERASED.c.org, ERASED.c.contact_id).where(ERASED.c.contact_id.in_(contacts))
    return {(org, contact) for org, contact in (await session.exec(query)).all()}


async def apply_responses(session: AsyncSession, events: list[Received[ResponseData]], zones: Zones) -> None:
    """Replace each response's facts with those of its newest state, unless an equal or newer one was applied."""
    newest = _newest(events)
    if not newest:
        return
    states = await _lock_states(session, {rid: org for rid, (org, _) in newest.items()})
    fresh = {rid: held for rid, held in newest.items() if _applies(states[rid], held[0], held[1])}
    if not fresh:
        return
    gone = await _erased_contacts(session, [(org, data.contact_id) for org, data in fresh.values()])
    deltas = RollupDeltas()
    await _replace_facts(session, sorted(fresh), deltas)
    scores: list[dict[str, Any]] = []
    reasons: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []
    for rid, (org, data) in fresh.items():
        erased = states[rid].erased or (org, data.contact_id) in gone
        zone = await zones.of(org)
        new_scores, new_reasons = facts_of(org, data, zone, erased=erased)
        scores += new_scores
        reasons += new_reasons
        if data.finished and not erased:  # an erased contact's text is not kept at all
            comments += comment_facts_of(data, fact_context(org, data, zone, erased=False))
    await replace_comments(session, sorted(fresh), comments)
    count_facts(deltas, scores, reasons, sign=1)
    if scores:
        await session.exec(insert(FACTS), params=scores)
    if reasons:
        await session.exec(insert(REASONS), params=reasons)
    applied = [applied_state(org, data) for _, (org, data) in sorted(fresh.items())]
    await upsert_replacing(session, STATES, applied, key=["response_id"], replace=["updated_at", "finished"])
    await deltas.apply(session)


def applied_state(org: str, data: ResponseData) -> dict[str, Any]:
    """The `response_state` columns recording that this state of a response was applied."""
    return {"response_id": data.response_id, "org": org, "updated_at": _utc(data.updated_at), "finished": data.finished}


def _earliest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return a if b is None or (a is not None and a <= b) else b


def _invitation_row(org: str, data: InvitationData, zone: ZoneInfo) -> dict[str, Any]:
    at = _utc(data.at)
    row: dict[str, Any] = {"invitation_id": data.invitation_id, "org": org, "survey_id": data.survey_id}
    row |= {"distribution_id": data.distribution_id, "channel": data.channel, "unit": data.unit or ""}
    row |= {"touchpoint_id": data.touchpoint_id, "status": data.status, "status_at": at, "invited_at": at}
    row["invited_day"] = at.astimezone(zone).date()
    row["sent_at"] = at if data.status == "sent" else None
    row["delivered_at"] = at if data.status in DELIVERED_OR_LATER else None
    row["completed_at"] = at if data.status == "completed" else None
    row["bounced_at"] = at if data.status == "bounced" else None
    return row


def _merged(held: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Two states of one invitation: the earliest time of each stage, the status of the latest event."""
    merged = dict(held)
    for column in INVITATION_TIMES:
        merged[column] = _earliest(held[column], new[column])
    if new["invited_at"] < held["invited_at"]:
        merged["invited_day"] = new["invited_day"]
    if new["status_at"] >= held["status_at"]:
        merged["status"], merged["status_at"] = new["status"], new["status_at"]
    return merged


def _merge_sql(excluded: Any) -> dict[str, Any]:
    """`_merged` in SQL, for the row already stored (right-hand sides read the row before the update)."""
    t = INVITATIONS.c

    def earliest(name: str) -> Any:
        """The earlier of the stored and the new time (either may be null)."""
        old, new = t[name], excluded[name]
        return case((old.is_(None), new), (new.is_(None), old), (new < old, new), else_=old)

    later = excluded.status_at >= t.status_at
    merged = {name: earliest(name) for name in INVITATION_TIMES}
    merged["invited_day"] = case((excluded.invited_at < t.invited_at, excluded.invited_day), else_=t.invited_day)
    merged["status"] = case((later, excluded.status), else_=t.status)
    merged["status_at"] = case((later, excluded.status_at), else_=t.status_at)
    return merged


async def apply_invitations(session: AsyncSession, events: list[Received[InvitationData]], zones: Zones) -> None:
    """Upsert each invitation's stage times and latest status (any order of arrival gives the same row)."""
    rows: dict[str, dict[str, Any]] = {}
    for received in events:
        event, data = received.envelope, received.data
        row = _invitation_row(event.org, data, await zones.of(event.org))
        held = rows.get(data.invitation_id)
        rows[data.invitation_id] = row if held is None else _merged(held, row)
    if rows:
        statement = dialect_insert(session, INVITATIONS)
        statement = statement.on_conflict_do_update(
            index_elements=["invitation_id"], set_=_merge_sql(statement.excluded)
        )
        await session.exec(statement, params=[rows[key] for key in sorted(rows)])
