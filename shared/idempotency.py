"""`Idempotency-Key` for creating POSTs (DESIGN §5): replay, 422 on another body, 409 while in flight."""

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
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal, current_principal
from shared.background import pause
from shared.db import Database, JSONType, UTCDateTime, get_session, utcnow
from shared.errors import Conflict, Unprocessable

# A request that has not finished after this long is taken to have died; its key may be used again.
IN_FLIGHT_TIMEOUT = dt.timedelta(minutes=2)
PURGE_EVERY_SECONDS = 600.0
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
        self.ttl = ttl

    async def purge(self, now: dt.datetime | None = None) -> int:
        """Forget the keys first used more than `ttl` ago (done or abandoned); how many."""
        cutoff = (now or utcnow()) - self.ttl
        async with self.db.sessions() as session, session.begin():
            result: Any = await session.exec(  # type: ignore[call-overload]
                delete(self.table).where(col(self.table.created_at) < cutoff)
            )
            return int(result.rowcount)

    async def purge_loop(self, stop: asyncio.Event, every: float = PURGE_EVERY_SECONDS) -> None:
        """Purge expired keys now and then until stopped (a failed pass is logged and retried next time)."""
        while not stop.is_set():
            try:
                await self.purge()
            except Exception:
                logging.getLogger("cxloop.idempotency").exception("purging expired Idempotency-Keys failed")
            await pause(stop, seconds=every)

    async def claim(self, ident: dict[str, str], print_: str) -> None:
        """Record the key as in flight, or raise the replay, 422 or 409 that an earlier use calls for."""
        replay = await self._claim(ident, print_)
        if replay is not None:
            raise Replayed(replay)

    async def record(self, session: AsyncSession, ident: dict[str, str], response: Response) -> None:
        """Remember the answer in the request's own transaction: it is kept exactly when the create is."""
        body = json.loads(bytes(response.body)) if response.body else None
        await session.exec(
            update(self.table)
            .where(*self._match(ident))
            .values(state="done", status_code=response.status_code, response_body=body)
            .execution_options(synchronize_session=False)  # no record is loaded in this session
        )

    async def release(self, ident: dict[str, str]) -> None:
        """Forget an in-flight key whose request failed, so that a retry may use it again."""
        await self._release(ident)

    def _match(self, ident: dict[str, str]) -> list[Any]:
        return [col(getattr(self.table, name)) == value for name, value in ident.items()]

    async def _claim(self, ident: dict[str, str], print_: str) -> JSONResponse | None:
        """Record the key as in flight; or answer the replay, 422 or 409 that an earlier use calls for."""
        if await self._insert_in_flight(ident, print_):
            return None
        async with self.db.sessions() as session, session.begin():
            record = await session.get(self.table, (ident["org"], ident["caller"], ident["key"]))
            if record is None:  # released between our insert and this read: the caller may simply retry
                raise Conflict("This Idempotency-Key was just released; retry the request")
            if record.fingerprint != print_:
                raise Unprocessable("This Idempotency-Key was already used with another request body or path")
            if record.state == "done" and record.status_code is not None:
                return JSONResponse(
                    record.response_body, status_code=record.status_code, headers={REPLAY_HEADER: "true"}
                )
            stale = utcnow() - IN_FLIGHT_TIMEOUT
            taken_over = await session.exec(
                update(self.table)
                .where(*self._match(ident), col(self.table.state) == "in_flight", col(self.table.created_at) < stale)
                .values(created_at=utcnow())
            )
            if taken_over.rowcount == 1:
                return None
        raise Conflict("A request with this Idempotency-Key is still in flight")

    async def _insert_in_flight(self, ident: dict[str, str], print_: str) -> bool:
        """Insert the in-flight record in one autocommitted statement (one round trip); False if the key is taken."""
        table: Any = self.table.__table__  # type: ignore[attr-defined]
        values = {**ident, "fingerprint": print_, "state": "in_flight", "created_at": utcnow()}
        async with self.db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                await autocommit.execute(insert(table).values(values))
            except IntegrityError:
                return False
        return True

    async def _release(self, ident: dict[str, str]) -> None:
        async with self.db.sessions() as session, session.begin():
            await session.exec(delete(self.table).where(*self._match(ident), col(self.table.state) == "in_flight"))


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
    """The request's session, at most once per (org, caller, key): claims the key before, releases it on error.

    `IdempotentRoute` records the answer in this session before it commits, and answers a replay instead of
    calling the handler; without a key this is the plain session dependency.
    """
    runner = get_idempotency(request)
    ident = None if key is None else {"org": principal.org, "caller": principal.sub, "key": key}
    if ident is not None:
        await runner.claim(ident, fingerprint(request, await _body_of(request)))
    try:
        async with asynccontextmanager(get_session)(request) as session:
            if ident is not None:
                request.scope[_CLAIM] = (runner, ident, session)
            yield session
    except BaseException:
        if ident is not None:
            await runner.release(ident)
        raise


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
            if claim is not None and response.status_code < 400:
                runner, ident, session = claim
                await runner.record(session, ident, response)
            return response

        return handle
