"""Rate limits shared by every replica: counters per key and minute in the service's own database.

A sliding-window counter: each (bucket, key, minute) row counts the requests of that minute; a request is
allowed while this minute's count plus the previous minute's, weighted by the part of it still inside the
last 60 seconds, stays within the limit. One upsert and one read per request, in a short transaction of its
own (a refused or failed request still counts). Keys are stored hashed (an invitation token is a
credential). The table is declared once here (`RateLimitFields`) and created by each service that limits.

The client address is the one uvicorn reports: behind a reverse proxy, set `CXLOOP_FORWARDED_ALLOW_IPS` to
the proxy's address so that `cxloop serve` trusts its `X-Forwarded-For` (otherwise every caller shares the
proxy's bucket; forwarded headers from anyone else are ignored).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable

from fastapi import Request
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from shared.db import Database
from shared.errors import TooManyRequests

KeyFunc = Callable[[Request], str | None]
Rate = int | Callable[[Request], int]
WINDOW_SECONDS = 60


class RateLimitFields(SQLModel):
    """Columns of a service's `rate_limits` table: requests per bucket, hashed key and minute."""

    bucket: str = Field(primary_key=True, max_length=40)
    key_hash: str = Field(primary_key=True, max_length=64)
    minute: int = Field(primary_key=True, index=True, description="Unix time // 60")
    hits: int = 0


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (see the module about proxies)."""
    return request.client.host if request.client is not None else "unknown"


def path_param(name: str) -> KeyFunc:
    """A key function: the value of a path parameter (e.g. an invitation token); None skips the limit."""

    def key(request: Request) -> str | None:
        value = request.path_params.get(name)
        return str(value)[:200] if value else None

    return key


async def take(
    db: Database, table: type[RateLimitFields], *, bucket: str, key: str, per_minute: int, now: float | None = None
) -> float:
    """Count one request for `key`: 0.0 when allowed, else the seconds until one would be."""
    now = time.time() if now is None else now
    window, into = divmod(now, WINDOW_SECONDS)
    minute, key_hash = int(window), hashlib.sha256(key.encode()).hexdigest()
    core = table.__table__  # type: ignore[attr-defined]
    this_key = (core.c.bucket == bucket, core.c.key_hash == key_hash)
    insert = (postgresql if db.is_postgres else sqlite).insert(core)
    upsert = insert.values(bucket=bucket, key_hash=key_hash, minute=minute, hits=1).on_conflict_do_update(
        index_elements=["bucket", "key_hash", "minute"], set_={"hits": core.c.hits + 1}
    )
    async with db.sessions() as session, session.begin():
        hits = (await session.exec(upsert.returning(core.c.hits))).scalar_one()  # type: ignore[call-overload]
        earlier = select(core.c.hits).where(*this_key, core.c.minute == minute - 1)
        previous = (await session.exec(earlier)).scalar_one_or_none() or 0  # type: ignore[call-overload]
        if hits == 1:  # the first request of a key this minute: forget this bucket's older minutes
            stale = delete(core).where(core.c.bucket == bucket, core.c.minute < minute - 1)
            await session.exec(stale)  # type: ignore[call-overload]
    return _wait(hits=hits, previous=previous, into=into, per_minute=per_minute)


def _wait(*, hits: int, previous: int, into: float, per_minute: int) -> float:
    """0.0 when `hits` this minute plus the previous minute's share of the window fit; else the seconds to wait."""
    if previous * (1.0 - into / WINDOW_SECONDS) + hits <= per_minute:
        return 0.0
    if hits > per_minute or previous == 0:  # this minute alone is over: the next one, at least
        return WINDOW_SECONDS - into
    # over with the previous minute's tail: until enough of it has slid out of the window
    return max(1.0, WINDOW_SECONDS * (1.0 - (per_minute - hits) / previous) - into)


def rate_limit(
    bucket_name: str, per_minute: Rate, *, table: type[RateLimitFields], key: KeyFunc = client_address
) -> Callable[[Request], Awaitable[None]]:
    """A dependency allowing `per_minute` requests a minute per key (the client address unless told); else 429.

    `per_minute` may be a function of the request, to read it from the app's settings. The 429 is a
    problem+json with `Retry-After` (whole seconds). The counters live in `table`, in the app's database.
    """

    async def limit(request: Request) -> None:
        value = key(request)
        if value is None:
            return
        allowed = per_minute(request) if callable(per_minute) else per_minute
        db: Database = request.app.state.db
        wait = await take(db, table, bucket=bucket_name, key=value, per_minute=allowed)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"Too many requests ({allowed} a minute); retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )

    return limit
