"""Bench responses for metrics at scale: a deterministic generator, and a bulk loader that writes exactly the
tables metrics_api's own ingest writes for the same events (`tests/metrics_api/test_bulk_load.py` proves it).

The generator: response `i` of `size` is a pure function of (`i`, `size`, `end`) — a unit tree of 5 regions x
4 countries x 10 stores, four surveys at four touchpoints over five channels, contact attributes (tier,
segment, member, visits), skewed score distributions that differ per region, and `submitted_at` spread over
the 395 days before `end`, in the order responses would arrive. The org's metrics time zone is New York.

The loader: fact rows come from the project's own `facts_of`, response_state rows are what `apply_responses`
upserts, rollups come from the project's own recount (`_recount`, then the rows `RollupDeltas.apply` would
upsert: COPYed on PostgreSQL, applied on SQLite). On PostgreSQL the
rows are streamed with `COPY` into tables whose indexes are dropped first and recreated (then ANALYZE) after;
on SQLite they are inserted with executemany, so the equality test runs on both backends.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import operator
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import JSON, Table, insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import AddConstraint, CreateIndex
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.ingest import FACTS, REASONS, STATES, applied_state, facts_of
from services.metrics_api.models import OrgSettingsRow
from services.metrics_api.rollups import RollupDeltas, _recount
from shared.db import Database, sync_url
from shared.events import RESPONSE_COMPLETED, RESPONSE_UPDATED, EventEnvelope, QuestionInfo, ResponseData, build_event

GENERATOR_VERSION = 2  # bump whenever `response` changes: cached bench databases are then reloaded
ORG = "bench"
TIMEZONE = "America/New_York"
ZONE = ZoneInfo(TIMEZONE)
SPAN = dt.timedelta(days=395)
SPAN_SECONDS = SPAN.total_seconds()
MASK = (1 << 64) - 1
COPY_TABLES = (FACTS, REASONS, STATES)

REGIONS: dict[str, tuple[str, ...]] = {
    "emea": ("de", "fr", "gb", "es"),
    "amer": ("us", "ca", "mx", "br"),
    "apac": ("jp", "au", "in", "sg"),
    "nordics": ("se", "no", "dk", "fi"),
    "mena": ("ae", "sa", "eg", "ma"),
}
STORES = 10
UNITS: tuple[str, ...] = tuple(
    f"{region}/{country}/s{store:02d}" for region, countries in REGIONS.items() for country in countries
    for store in range(STORES)
)  # fmt: skip
COUNTRIES: tuple[str, ...] = tuple(
    f"{region}/{country}" for region, countries in REGIONS.items() for country in countries
)

NPS_Q = QuestionInfo(key="nps", kind="nps", scale_min=0, scale_max=10)
CSAT_Q = QuestionInfo(key="csat", kind="csat", scale_min=1, scale_max=5)
CES_Q = QuestionInfo(key="ces", kind="ces", scale_min=1, scale_max=7)
REASONS_Q = QuestionInfo(key="reasons", kind="reasons")
COMMENT_Q = QuestionInfo(key="comment", kind="text")
# The store visit's rated attributes (the key-driver analysis): each follows the NPS answer, with noise of its own.
STAFF_Q = QuestionInfo(key="staff", kind="rating", scale_min=1, scale_max=5)
SPEED_Q = QuestionInfo(key="speed", kind="rating", scale_min=1, scale_max=5)
TIDY_Q = QuestionInfo(key="tidy", kind="rating", scale_min=1, scale_max=5)


@dataclass(frozen=True)
class Survey:
    """A bench survey: its questions, touchpoint, channels and its share of the responses (per 100)."""

    survey_id: str
    kind: str
    touchpoint_id: str | None
    channels: tuple[str, ...]
    questions: tuple[QuestionInfo, ...]
    share: int


SURVEYS = (
    Survey("srv_relationship", "relationship", None, ("email", "sms"), (NPS_Q, REASONS_Q, COMMENT_Q), 50),
    Survey(
        "srv_store_visit",
        "transactional",
        "tp_store",
        ("sms", "link", "in_app"),
        (NPS_Q, CSAT_Q, REASONS_Q, STAFF_Q, SPEED_Q, TIDY_Q),
        30,
    ),
    Survey("srv_support", "transactional", "tp_support", ("email", "web"), (CES_Q, NPS_Q), 8),
    Survey("srv_online", "transactional", "tp_online", ("web", "in_app"), (CSAT_Q, NPS_Q), 12),
)
SURVEY_OF_PERCENT: tuple[Survey, ...] = tuple(s for s in SURVEYS for _ in range(s.share))
# Score weights (percent per score, low to high); NPS is skewed per region so grouped answers differ.
NPS_WEIGHTS = (2, 1, 2, 2, 3, 6, 8, 12, 18, 22, 24)
CSAT_WEIGHTS = (6, 8, 14, 36, 36)
CES_WEIGHTS = (3, 4, 7, 11, 20, 30, 25)
REASON_CODES = ("price", "staff", "speed", "quality", "availability", "cleanliness", "checkout", "app")
TIERS = ("gold",) * 15 + ("silver",) * 30 + ("bronze",) * 55
SEGMENTS = ("consumer",) * 70 + ("smb",) * 20 + ("enterprise",) * 10


def _table(weights: Sequence[int], low: int) -> tuple[int, ...]:
    """Scores repeated by weight: indexing it with a uniform number draws a weighted score."""
    return tuple(low + score for score, weight in enumerate(weights) for _ in range(weight))


def _shifted(weights: Sequence[int], shift: int) -> tuple[int, ...]:
    """The NPS weights with `shift` percent moved from the top score to the bottom one (a worse region)."""
    moved = list(weights)
    moved[-1] -= shift
    moved[0] += shift
    return tuple(moved)


NPS_BY_REGION = tuple(_table(_shifted(NPS_WEIGHTS, k * 3), 0) for k in range(len(REGIONS)))
CSAT_TABLE = _table(CSAT_WEIGHTS, 1)
CES_TABLE = _table(CES_WEIGHTS, 1)


def _mix(value: int) -> int:
    """splitmix64: a well-spread 64-bit hash of `value` (the generator's only source of randomness)."""
    z = (value + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


RESPONSE_FIELDS = frozenset(ResponseData.model_fields)


def _construct(**values: Any) -> ResponseData:
    """A ResponseData of values already of the right types, without validation: what `model_construct` does when
    every field is given, at a tenth of its cost (ingest validates; the equality test shows the rows agree)."""
    assert values.keys() == RESPONSE_FIELDS
    data = ResponseData.__new__(ResponseData)
    object.__setattr__(data, "__dict__", values)
    object.__setattr__(data, "__pydantic_fields_set__", set(RESPONSE_FIELDS))
    object.__setattr__(data, "__pydantic_extra__", None)
    object.__setattr__(data, "__pydantic_private__", None)
    return data


def _attribute(nps: int | None, draw: int, k: int) -> int:
    """A 1-5 rating that follows the NPS answer more or less closely (the later the attribute, the looser)."""
    base = 1 + (nps * 4 + 5) // 10 if nps is not None else 1 + draw % 5
    noise = (draw % (3 + 2 * (k - 3))) - (1 + (k - 3))  # staff ±1, speed ±2, tidy ±3
    return min(5, max(1, base + noise))


def bench_end(now: dt.datetime | None = None) -> dt.datetime:
    """The instant the bench data ends: now, to the minute (UTC)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(second=0, microsecond=0)


def response(i: int, size: int, end: dt.datetime) -> ResponseData:
    """Response `i` of `size`: submitted in arrival order over the 395 days before `end`, deterministic."""
    a, b = _mix(i), _mix(i ^ 0x5DEECE66D)
    survey = SURVEY_OF_PERCENT[a % 100]
    store = (a >> 8) % len(UNITS)
    region_index = store // (len(UNITS) // len(REGIONS))
    unit: str | None = UNITS[store]
    if survey.survey_id == "srv_online":  # online answers belong to a country, a few to the org itself
        unit = None if (a >> 20) % 50 == 0 else COUNTRIES[store // STORES]
    jitter = ((b & 0xFFFF) - 0x8000) * 3  # ± ~27 hours, so arrival order is only roughly time order
    seconds = SPAN_SECONDS * (i + 0.5) / size + jitter
    submitted = dt.datetime.fromtimestamp(end.timestamp() - SPAN_SECONDS + min(seconds, SPAN_SECONDS - 1), dt.UTC)
    answers: dict[str, Any] = {}
    for k, question in enumerate(survey.questions):
        draw = (b >> (16 + 7 * k)) % 100
        if question.kind == "nps" and (a >> 40) % 40:  # 1 in 40 skips the NPS question
            answers["nps"] = NPS_BY_REGION[region_index][draw]
        elif question.kind == "csat" and draw % 3:  # a third skip CSAT
            answers["csat"] = CSAT_TABLE[(draw * 7) % 100]
        elif question.kind == "ces":
            answers["ces"] = CES_TABLE[draw]
        elif question.kind == "reasons" and draw < 30:
            codes = [REASON_CODES[(a >> 48) % 8]] + ([REASON_CODES[(a >> 52) % 8]] if draw < 8 else [])
            answers["reasons"] = codes
        elif question.kind == "text" and draw < 20:
            answers["comment"] = "Thanks!"
        elif question.kind == "rating" and draw % 10:  # a tenth skip each attribute
            answers[question.key] = _attribute(answers.get("nps"), draw, k)
    finished = (b >> 60) != 0 or (a >> 44) % 8 != 0  # 1 in 128 is still partial
    contact = None if (a >> 30) % 10 == 0 else f"cnt_{(b >> 24) % 2_000_000:07d}"
    attributes: dict[str, Any] = {}
    if contact is not None:
        attributes = {"tier": TIERS[(b >> 32) % 100], "segment": SEGMENTS[(b >> 40) % 100]}
        attributes |= {"member": (b >> 48) % 3 == 0, "visits": (b >> 50) % 25}
    return _construct(
        response_id=f"rsp_{i:012d}",
        survey_id=survey.survey_id,
        survey_version=1 + (i * 3 // size),
        survey_kind=survey.kind,
        audience="customers",
        purpose="standard",
        touchpoint_id=survey.touchpoint_id,
        channel=survey.channels[(a >> 36) % len(survey.channels)],
        source="partner" if survey.channels[0] == "email" else "web",
        unit=unit,
        contact_id=contact,
        attributes=attributes,
        language="en",
        default_language="en",
        questions=list(survey.questions),
        answers=answers,
        finished=finished,
        submitted_at=submitted,
        completed_at=submitted if finished else None,
        updated_at=submitted,
    )


def event(i: int, size: int, end: dt.datetime, *, org: str = ORG) -> EventEnvelope:
    """Response `i` as survey_api's dispatcher would send it (`response.completed`, or `.updated` if partial)."""
    data = response(i, size, end)
    kind = RESPONSE_COMPLETED if data.finished else RESPONSE_UPDATED
    return build_event(kind, org=org, data=data, id=f"evt_{i:012d}")


def state_of(org: str, data: ResponseData) -> dict[str, Any]:
    """The response_state row ingest leaves for a response applied once (see `apply_responses`)."""
    return {**applied_state(org, data), "erased": False}


@dataclass
class Rows:
    """One chunk of rows for each table the loader fills."""

    facts: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    states: list[dict[str, Any]]


def rows(start: int, stop: int, size: int, end: dt.datetime, *, org: str = ORG) -> Rows:
    """The rows of responses start..stop-1, made by the project's own `facts_of`."""
    chunk = Rows([], [], [])
    for i in range(start, stop):
        data = response(i, size, end)
        scores, reasons = facts_of(org, data, ZONE, erased=False)
        chunk.facts += scores
        chunk.reasons += reasons
        chunk.states.append(state_of(org, data))
    return chunk


# ---- PostgreSQL: COPY text format -------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: Any) -> str:
    """One value in COPY's text format (NULL is `\\N`)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":")).translate(_ESCAPES)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def _escaped_lines(names: list[str], records: list[dict[str, Any]]) -> str:
    """The records as COPY text lines, every value escaped (the slow, always-right path)."""
    return "".join("\t".join([_text(record[name]) for name in names]) + "\n" for record in records)


def copy_lines(table: Table, records: list[dict[str, Any]]) -> str:
    """The records as COPY text lines, columns in the table's order.

    The fast path formats values with `str` (PostgreSQL reads `True`, `2026-01-02 03:04:05+00:00`, dates) and
    dumps each attributes dict once; when the result holds a character COPY would need escaped (a backslash,
    a carriage return, or more tabs or newlines than separators) the chunk is formatted the slow way instead.
    """
    names = [column.name for column in table.columns]
    getter = operator.itemgetter(*names)
    dicts = [k for k, column in enumerate(table.columns) if isinstance(column.type, JSON)]
    nullable = [k for k, column in enumerate(table.columns) if column.nullable and k not in dicts]
    dumped: dict[int, str] = {}
    lines = []
    nulls = 0
    for record in records:
        values = list(getter(record))
        for k in dicts:
            value = values[k]
            text = dumped.get(id(value))
            if text is None:
                text = dumped[id(value)] = json.dumps(value, separators=(",", ":"))
            values[k] = text
        for k in nullable:
            if values[k] is None:
                values[k] = "\\N"
                nulls += 1
        lines.append("\t".join(map(str, values)))
    text = "\n".join(lines) + "\n" if lines else ""
    clean = text.count("\\") == nulls and "\r" not in text
    if not clean or text.count("\t") != len(lines) * (len(names) - 1) or text.count("\n") != len(lines):
        return _escaped_lines(names, records)
    return text


def _ddl(table: Table) -> tuple[list[str], list[str]]:
    """The statements that drop, and those that recreate, the table's primary key and indexes."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    key = table.primary_key
    drop = [f'ALTER TABLE {table.name} DROP CONSTRAINT "{key.name}"']
    create = [str(AddConstraint(key).compile(dialect=dialect))]
    for index in sorted(table.indexes, key=lambda x: str(x.name)):
        drop.append(f'DROP INDEX "{index.name}"')
        create.append(str(CreateIndex(index).compile(dialect=dialect)))
    return drop, create


def _connect(url: str) -> psycopg.Connection[Any]:
    """A psycopg connection for the loader (commits are not waited for: a lost load is simply redone)."""
    connection = psycopg.connect(sync_url(url).replace("postgresql+psycopg", "postgresql"))
    connection.execute("SET synchronous_commit = off")
    connection.execute("SET maintenance_work_mem = '1GB'")
    return connection


def copy_range(url: str, start: int, stop: int, size: int, end: dt.datetime, org: str, chunk: int) -> None:
    """COPY the rows of responses start..stop-1 into the three tables, one connection (and COPY) per table."""
    connections = [_connect(url) for _ in COPY_TABLES]
    try:
        copies = [
            connection.cursor().copy(f"COPY {t.name} ({', '.join(c.name for c in t.columns)}) FROM STDIN")
            for connection, t in zip(connections, COPY_TABLES, strict=True)
        ]
        with copies[0] as facts, copies[1] as reasons, copies[2] as states:
            for first in range(start, stop, chunk):
                made = rows(first, min(stop, first + chunk), size, end, org=org)
                facts.write(copy_lines(FACTS, made.facts))
                reasons.write(copy_lines(REASONS, made.reasons))
                states.write(copy_lines(STATES, made.states))
        for connection in connections:
            connection.commit()
    finally:
        for connection in connections:
            connection.close()


def _copy_postgres(url: str, count: int, size: int, end: dt.datetime, org: str, chunk: int, workers: int) -> None:
    """Drop the keys and indexes, COPY every row (`workers` processes, each its own range of responses),
    recreate the keys and indexes, then ANALYZE."""
    with _connect(url) as main:
        recreate: list[str] = []
        for table in COPY_TABLES:
            drop, create = _ddl(table)
            for statement in drop:
                main.execute(statement)
            recreate += create
        main.commit()
        bounds = [count * k // workers for k in range(workers + 1)]
        if workers == 1:
            copy_range(url, 0, count, size, end, org, chunk)
        else:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                jobs = [
                    pool.submit(copy_range, url, bounds[k], bounds[k + 1], size, end, org, chunk)
                    for k in range(workers)
                ]
                for job in jobs:
                    job.result()
        for statement in recreate:
            main.execute(statement)
        main.commit()
        main.autocommit = True
        for table in COPY_TABLES:
            main.execute(f"ANALYZE {table.name}")


def _copy_rollups(url: str, deltas: RollupDeltas) -> None:
    """The rows `deltas.apply` would upsert, COPYed into the (still empty) rollup tables, then ANALYZE."""
    with _connect(url) as connection:
        for table, _, _, records in deltas.rows():
            held = connection.execute(f"SELECT count(*) FROM {table.name}").fetchone()  # noqa: S608
            assert held is not None and held[0] == 0, f"{table.name} is not empty"
            columns = ", ".join(c.name for c in table.columns)
            with connection.cursor().copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                copy.write(copy_lines(table, records))
        connection.commit()
        connection.autocommit = True
        for table, *_ in deltas.rows():
            connection.execute(f"ANALYZE {table.name}")


async def _insert_sqlite(session: AsyncSession, count: int, size: int, end: dt.datetime, org: str, chunk: int) -> None:
    """The same rows through SQLAlchemy executemany (SQLite: small sets only)."""
    for start in range(0, count, chunk):
        made = rows(start, min(count, start + chunk), size, end, org=org)
        for table, records in ((FACTS, made.facts), (REASONS, made.reasons), (STATES, made.states)):
            if records:
                await session.exec(insert(table), params=records)


async def set_timezone(session: AsyncSession, org: str = ORG, timezone: str = TIMEZONE) -> None:
    """Set the org's metrics `timezone` setting (the day buckets of its facts)."""
    row = await session.get(OrgSettingsRow, org)
    if row is None:
        session.add(OrgSettingsRow(org=org, data={"timezone": timezone}))
    else:
        row.data = {**row.data, "timezone": timezone}
        session.add(row)
    await session.flush()


@dataclass(frozen=True)
class LoadTimes:
    """Seconds spent on the facts (rows and indexes) and on the rollups."""

    facts: float
    rollups: float


async def bulk_load(
    url: str,
    count: int,
    *,
    end: dt.datetime,
    size: int | None = None,
    org: str = ORG,
    chunk: int = 10_000,
    workers: int = 1,
) -> LoadTimes:
    """Load responses 0..count-1 of `size` (default `count`) into metrics_api's migrated, empty database at `url`:
    the org's time zone, score facts, reason facts, response states and both rollup tables."""
    size = size or count
    database = Database(url, pool_size=1)
    try:
        async with database.sessions() as session:
            await set_timezone(session, org)
            await session.commit()
        began = time.perf_counter()
        if database.is_postgres:
            _copy_postgres(url, count, size, end, org, chunk, workers)
        else:
            async with database.sessions() as session:
                await _insert_sqlite(session, count, size, end, org, chunk)
                await session.commit()
        facts_done = time.perf_counter()
        async with database.sessions() as session:
            deltas = await _recount(session, org)
            if database.is_postgres:
                _copy_rollups(url, deltas)
            else:
                await deltas.apply(session)
            await session.commit()
        return LoadTimes(facts_done - began, time.perf_counter() - facts_done)
    finally:
        await database.dispose()


def iter_events(count: int, size: int, end: dt.datetime, *, org: str = ORG) -> Iterator[EventEnvelope]:
    """The events of responses 0..count-1, in arrival order (what the ingest path is given)."""
    return (event(i, size, end, org=org) for i in range(count))
