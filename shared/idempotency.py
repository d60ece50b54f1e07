"""`Idempotency-Key` for creating POSTs (DESIGN §5): replay, 422 on another body, a concurrent repeat waits.

The key is claimed by the first statement of the request's own transaction, so it is never "in flight"
outside that transaction: the answer is recorded and committed with the create, and a request that fails, or
whose process dies, rolls its claim back with everything else — a retry is served at once. A concurrent
repeat of the same key waits on the first one's row (PostgreSQL's unique index; SQLite's single writer) and
then replays its answer, or runs itself if the first one rolled back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Table, delete, select, update
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal, current_principal
from shared.background import pause
from shared.db import Database, JSONType, UTCDateTime, get_session, utcnow
from shared.errors import Conflict, Unprocessable
from shared.rawsql import driver_of, insert_sql, update_sql

PURGE_EVERY_SECONDS = 600.0
_KEY_COLUMNS = ("org", "caller", "key")
_CLAIM_COLUMNS = (*_KEY_COLUMNS, "fingerprint", "state", "created_at")
_DONE_COLUMNS = ("state", "status_code", "response_body")
REPLAY_HEADER = "Idempotent-Replayed"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Makes the request safe to retry: a repeat with the same body replays the first answer",
    ),
]


class IdempotencyRecordFields(SQLModel):
    """Columns of a service's `idempotency_keys` table; each service declares the table on its own base."""

    org: str = Field(primary_key=True, max_length=100)
    caller: str = Field(primary_key=True, max_length=255)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    state: str = Field(default="in_flight", max_length=20)
    status_code: int | None = None
    response_body: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


def fingerprint(request: Request, payload: BaseModel | Any) -> str:
    """What the key promises: the same method, path and body (a JSON value, or a model as JSON)."""
    value = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    body = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.url.path}\n{body}".encode()).hexdigest()


async def _body_of(request: Request) -> Any:
    """The request's JSON body as a value (the route has parsed it already, so it is valid JSON)."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


class Replayed(Exception):
    """Raised by the dependency when the key was used before: `IdempotentRoute` answers `response` instead."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__("replayed")
        self.response = response


class IdempotentRunner:
    """Runs creating requests so that a retried one replays its first answer instead of acting twice.

    Keys are remembered for `ttl` (CXLOOP_IDEMPOTENCY_TTL_HOURS, 24 h by default, as partners retry within
    minutes or hours); `purge` forgets older ones, so the table holds about a day of writes, not every write.
    """

    def __init__(
        self, db: Database, table: type[IdempotencyRecordFields], *, ttl: dt.timedelta = dt.timedelta(hours=24)
    ) -> None:
        self.db = db
        self.table = table
        self.columns: Table = table.__table__  # type: ignore[attr-defined]
        self.ttl = ttl

    async def purge(self, now: dt.datetime | None = None) -> int:
        """Forget the keys first used more than `ttl` ago; how many."""
        cutoff = (now or utcnow()) - self.ttl
        async with self.db.engine.begin() as connection:
            result = await connection.execute(delete(self.columns).where(self.columns.c.created_at < cutoff))
            return int(result.rowcount)

    async def purge_loop(self, stop: asyncio.Event, every: float = PURGE_EVERY_SECONDS) -> None:
        """Purge expired keys now and then until stopped (a failed pass is logged and retried next time)."""
        while not stop.is_set():
            try:
                await self.purge()
            except Exception:
                logging.getLogger("cxloop.idempotency").exception("purging expired Idempotency-Keys failed")
            await pause(stop, seconds=every)

    async def claim(self, session: AsyncSession, ident: dict[str, str], print_: str) -> None:
        """Claim the key in the session's transaction (its first statement), or raise the replay or 422 an
        earlier use calls for. Waits while a concurrent request holds the same key uncommitted."""
        driver = await driver_of(session)
        row = {**ident, "fingerprint": print_, "state": "in_flight", "created_at": utcnow()}
        sql = insert_sql(self.columns, driver.dialect, _CLAIM_COLUMNS, conflict=_KEY_COLUMNS, returning="key")
        params = driver.table(self.columns).values(_CLAIM_COLUMNS, row)
        for _ in range(3):  # a row purged between our insert and our read: insert again
            if await driver.execute(sql, params):
                return
            connection = await session.connection()
            record = (await connection.execute(select(self.columns).where(*self._match(ident)))).first()
            if record is not None:
                break
        else:
            raise Conflict("This Idempotency-Key is being used and forgotten concurrently; retry the request")
        if record.fingerprint != print_:
            raise Unprocessable("This Idempotency-Key was already used with another request body or path")
        if record.state == "done" and record.status_code is not None:
            raise Replayed(
                JSONResponse(record.response_body, status_code=record.status_code, headers={REPLAY_HEADER: "true"})
            )
        # Committed but never completed: claimed apart from its request by an earlier version. Ours now.
        await connection.execute(update(self.columns).where(*self._match(ident)).values(created_at=utcnow()))

    async def record(self, session: AsyncSession, ident: dict[str, str], response: Response) -> None:
        """Remember the answer in the request's own transaction: it is kept exactly when the create is."""
        body = json.loads(bytes(response.body)) if response.body else None
        driver = await driver_of(session)
        values = {"state": "done", "status_code": response.status_code, "response_body": body, **ident}
        sql = update_sql(self.columns, driver.dialect, _DONE_COLUMNS, _KEY_COLUMNS)
        await driver.execute(sql, driver.table(self.columns).values(_DONE_COLUMNS + _KEY_COLUMNS, values))

    async def forget(self, session: AsyncSession, ident: dict[str, str]) -> None:
        """Drop the claim of a request that answered an error without raising (its retry may run again)."""
        connection = await session.connection()
        await connection.execute(delete(self.columns).where(*self._match(ident)))

    def _match(self, ident: dict[str, str]) -> list[Any]:
        return [self.columns.c[name] == value for name, value in ident.items()]


def get_idempotency(request: Request) -> IdempotentRunner:
    """The idempotent runner of the app serving this request."""
    runner: IdempotentRunner = request.app.state.idempotency
    return runner


_CLAIM = "cxloop.idempotency_claim"


async def idempotent_session(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    key: IdempotencyKeyHeader = None,
) -> AsyncIterator[AsyncSession]:
    """The request's session, at most once per (org, caller, key): its transaction claims the key first.

    `IdempotentRoute` records the answer in this session before it commits, and answers a replay instead of
    calling the handler; a failure rolls the claim back with the rest. Without a key this is the plain session.
    """
    async with asynccontextmanager(get_session)(request) as session:
        if key is not None:
            runner = get_idempotency(request)
            ident = {"org": principal.org, "caller": principal.sub, "key": key}
            await runner.claim(session, ident, fingerprint(request, await _body_of(request)))
            request.scope[_CLAIM] = (runner, ident, session)
        yield session


# The one session of a creating route; the route's router uses `route_class=IdempotentRoute`.
IdempotentSession = Annotated[AsyncSession, Depends(idempotent_session, scope="function")]


class IdempotentRoute(APIRoute):
    """A route whose `IdempotentSession` remembers its answer (in the same transaction) and replays it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except Replayed as replay:
                return replay.response
            claim = request.scope.get(_CLAIM)
            if claim is not None:
                runner, ident, session = claim
                if response.status_code < 400:
                    await runner.record(session, ident, response)
                else:
                    await runner.forget(session, ident)
            return response

        return handle
