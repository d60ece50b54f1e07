"""`Idempotency-Key` for creating POSTs (DESIGN §5): replay, 422 on another body, 409 while in flight."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal
from shared.background import pause
from shared.db import Database, JSONType, UTCDateTime, utcnow
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


def fingerprint(request: Request, payload: BaseModel) -> str:
    """What the key promises: the same method, path and body."""
    body = json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.url.path}\n{body}".encode()).hexdigest()


# A create answers its object, or its object and a status other than the default (an upsert that found it: 200).
Create = Callable[[AsyncSession], Awaitable[BaseModel | tuple[BaseModel, int]]]


def _outcome(result: BaseModel | tuple[BaseModel, int], default_status: int) -> tuple[dict[str, Any], int]:
    model, status = result if isinstance(result, tuple) else (result, default_status)
    return model.model_dump(mode="json"), status


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

    async def run(
        self,
        *,
        request: Request,
        principal: Principal,
        key: str | None,
        payload: BaseModel,
        create: Create,
        status_code: int = 201,
    ) -> JSONResponse:
        """Run `create` in its own transaction, at most once per (org, caller, key)."""
        if key is None:
            async with self.db.sessions() as session, session.begin():
                body, status = _outcome(await create(session), status_code)
            return JSONResponse(body, status_code=status)
        ident = {"org": principal.org, "caller": principal.sub, "key": key}
        replay = await self._claim(ident, fingerprint(request, payload))
        if replay is not None:
            return replay
        try:
            async with self.db.sessions() as session, session.begin():
                body, status = _outcome(await create(session), status_code)
                await session.exec(
                    update(self.table)
                    .where(*self._match(ident))
                    .values(state="done", status_code=status, response_body=body)
                    .execution_options(synchronize_session=False)  # no record is loaded in this session
                )
        except BaseException:
            await self._release(ident)
            raise
        return JSONResponse(body, status_code=status)

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


async def get_idempotency(request: Request) -> IdempotentRunner:
    """The idempotent runner of the app serving this request."""
    runner: IdempotentRunner = request.app.state.idempotency
    return runner


IdempotencyDep = Annotated[IdempotentRunner, Depends(get_idempotency)]
