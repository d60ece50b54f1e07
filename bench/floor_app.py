"""The floor of single-response ingest: the least any HTTP service must do to accept one response.

A bare Starlette app (no FastAPI, no auth, no validation beyond `json.loads`, no idempotency, no outbox):
`POST /ingest` parses the same JSON body as `POST /v1/responses` and inserts ONE row, in autocommit, into a
table shaped like survey_api's `responses`, over a small pool of psycopg async connections. `GET /readyz`
answers once the pool is open. Served by uvicorn exactly as `cxloop serve` serves a service (one worker,
`log_config=None`, `access_log=False`, `proxy_headers=True`).

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_ingest_floor \
        .venv/bin/python -m bench.floor_app --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

POOL_SIZE = 10  # survey_api's default `database_pool_size`
TABLE_DDL = """
CREATE TABLE IF NOT EXISTS floor_responses (
    id varchar(40) PRIMARY KEY,
    org varchar(100) NOT NULL,
    survey_id varchar(40) NOT NULL,
    survey_version integer NOT NULL,
    external_id varchar(200),
    contact_id varchar(40),
    channel varchar(20) NOT NULL,
    source varchar(20) NOT NULL,
    language varchar(8),
    unit varchar(255),
    touchpoint_id varchar(40),
    attributes jsonb NOT NULL,
    answers jsonb NOT NULL,
    finished boolean NOT NULL,
    submitted_at timestamptz NOT NULL,
    completed_at timestamptz,
    anonymised_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
)
"""
COLUMNS = (
    "id, org, survey_id, survey_version, external_id, contact_id, channel, source, language, unit, touchpoint_id,"
    " attributes, answers, finished, submitted_at, completed_at, anonymised_at, created_at, updated_at"
)
INSERT = f"INSERT INTO floor_responses ({COLUMNS}) VALUES ({', '.join(['%s'] * 19)})"  # noqa: S608 - constant


class Pool:
    """A fixed set of autocommit async connections handed out one request at a time."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.size = size
        self.idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open(self) -> None:
        """Connect `size` connections and create the table."""
        for _ in range(self.size):
            self.idle.put_nowait(await psycopg.AsyncConnection.connect(self.url, autocommit=True))
        connection = await self.idle.get()
        await connection.execute(TABLE_DDL)
        self.idle.put_nowait(connection)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """Borrow a connection until the block ends."""
        connection = await self.idle.get()
        try:
            yield connection
        finally:
            self.idle.put_nowait(connection)

    async def close(self) -> None:
        """Close every idle connection."""
        while not self.idle.empty():
            await self.idle.get_nowait().close()


def row_of(body: dict[str, Any], now: dt.datetime) -> tuple[Any, ...]:
    """The `responses`-shaped row of one posted body (the fields survey_api would store)."""
    finished = bool(body.get("finished", True))
    return (
        "rsp_" + uuid.uuid4().hex, "bench", body["survey_id"], 1, body.get("external_id"), None,
        body.get("channel", "api"), "partner", body.get("language"), body.get("unit"), None,
        json.dumps({}), json.dumps(body.get("answers", {})), finished,
        body.get("submitted_at") or now, now if finished else None, None, now, now,
    )  # fmt: skip


def create_app(url: str, pool_size: int = POOL_SIZE) -> Starlette:
    """The floor app on the database at `url` (a libpq connection string)."""
    pool = Pool(url, pool_size)

    async def ingest(request: Request) -> Response:
        body = json.loads(await request.body())
        row = row_of(body, dt.datetime.now(dt.UTC))
        async with pool.connection() as connection:
            await connection.execute(INSERT, row)
        return JSONResponse({"id": row[0]}, status_code=201)

    async def readyz(_request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        yield
        await pool.close()

    routes = [Route("/ingest", ingest, methods=["POST"]), Route("/readyz", readyz, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    """Serve the floor app on `--port` (database from FLOOR_DATABASE_URL) the way `cxloop serve` serves."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    app = create_app(os.environ["FLOOR_DATABASE_URL"])
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_config=None, access_log=False, proxy_headers=True)


if __name__ == "__main__":
    main()
