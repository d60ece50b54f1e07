"""The benchmark's bulk loader writes exactly what ingest writes: the same events through
`POST /internal/v1/events` and through `bench.facts_bulk.bulk_load` leave identical facts, states and rollups
(and, on PostgreSQL, the same keys and indexes the loader dropped for its COPY)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Table, text
from sqlmodel.ext.asyncio.session import AsyncSession

from bench import facts_bulk
from services.metrics_api.rollups import ROLLUP_TABLES
from tests.conftest import Backend, TokenFactory
from tests.metrics_api.events import post_events

COUNT = 400
TABLES: tuple[Table, ...] = (*facts_bulk.COPY_TABLES, *ROLLUP_TABLES)


def _plain(value: Any) -> Any:
    """A value in a form that compares the same whichever way it was written (dicts as sorted JSON)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else value


async def _snapshot(app: FastAPI) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the compared tables, sorted."""
    async with app.state.db.sessions() as session:
        found = {}
        for table in TABLES:
            rows = (await session.exec(table.select())).all()  # type: ignore[call-overload]
            found[table.name] = sorted(tuple(_plain(v) for v in row) for row in rows)
        return found


async def _indexes(app: FastAPI, backend: Backend) -> list[tuple[Any, ...]]:
    """The index definitions of the loaded tables (PostgreSQL: what the loader dropped and recreated)."""
    if backend.name != "postgres":
        return []
    names = [t.name for t in facts_bulk.COPY_TABLES]
    query = text("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(:names) ORDER BY 2")
    async with app.state.db.sessions() as session:
        return [tuple(row) for row in (await session.exec(query, params={"names": names})).all()]  # type: ignore[call-overload]


async def _empty(app: FastAPI) -> None:
    async with app.state.db.sessions() as session:
        for table in TABLES:
            await session.exec(table.delete())  # type: ignore[call-overload]
        await session.commit()


async def _with_zone(session: AsyncSession) -> None:
    await facts_bulk.set_timezone(session)
    await session.commit()


async def test_bulk_load_writes_what_ingest_writes(
    backend: Backend, metrics_app: FastAPI, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    end = facts_bulk.bench_end()
    async with metrics_app.state.db.sessions() as session:
        await _with_zone(session)
    events = list(facts_bulk.iter_events(COUNT, COUNT, end))
    service = auth(org=facts_bulk.ORG, scopes="events:write", sub="survey_api")
    receipt = await post_events(metrics_client, service, events)
    assert receipt["processed"] == COUNT
    ingested = await _snapshot(metrics_app)
    indexes = await _indexes(metrics_app, backend)
    assert all(ingested[table.name] for table in TABLES)
    assert len({row[-3] for row in ingested["score_facts"]}) > 2  # attributes: several snapshots, and none
    await _empty(metrics_app)

    await facts_bulk.bulk_load(backend.urls["metrics_api"], COUNT, end=end, chunk=150)

    loaded = await _snapshot(metrics_app)
    for table in TABLES:
        assert loaded[table.name] == ingested[table.name], table.name
    assert await _indexes(metrics_app, backend) == indexes


async def test_two_workers_load_the_same_rows(backend: Backend, metrics_app: FastAPI) -> None:
    if backend.name != "postgres":
        return  # worker processes COPY: PostgreSQL only
    end = facts_bulk.bench_end()
    await facts_bulk.bulk_load(backend.urls["metrics_api"], COUNT, end=end, chunk=70)
    one = await _snapshot(metrics_app)
    await _empty(metrics_app)
    await facts_bulk.bulk_load(backend.urls["metrics_api"], COUNT, end=end, chunk=70, workers=2)
    assert await _snapshot(metrics_app) == one


def test_copy_lines_escape_what_copy_would_misread() -> None:
    row = {column.name: None for column in facts_bulk.REASONS.columns}
    row |= {"response_id": "a\\b", "question": "q\tx", "code": "c\nd", "org": "o", "survey_id": "s", "channel": "e"}
    row |= {"unit": "u\r", "submitted_at": "t", "day": "d"}
    line = facts_bulk.copy_lines(facts_bulk.REASONS, [row])
    assert line.count("\n") == 1 and line.count("\t") == len(facts_bulk.REASONS.columns) - 1
    assert "a\\\\b" in line and "q\\tx" in line and "c\\nd" in line and "u\\r" in line


async def test_the_rollups_migration_counts_the_facts_already_stored(
    backend: Backend, metrics_app: FastAPI, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    from cxloop.migrations import downgrade, upgrade

    async with metrics_app.state.db.sessions() as session:
        await _with_zone(session)
    service = auth(org=facts_bulk.ORG, scopes="events:write", sub="survey_api")
    await post_events(metrics_client, service, list(facts_bulk.iter_events(120, 120, facts_bulk.bench_end())))
    ingested = await _snapshot(metrics_app)
    await metrics_app.state.db.dispose()  # no pooled connection in the way of DROP TABLE
    url = backend.urls["metrics_api"]
    downgrade("metrics_api", url, "0001")
    upgrade("metrics_api", url)
    migrated = await _snapshot(metrics_app)
    for name in ("rollup_response", "rollup_reason"):
        assert migrated[name] == ingested[name] and migrated[name], name
