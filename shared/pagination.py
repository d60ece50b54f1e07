"""Opaque keyset cursors over time-ordered ids: `?limit=&cursor=` → `{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.errors import invalid

T = TypeVar("T")
S = TypeVar("S", bound=Select[Any])
MAX_LIMIT = 500
MAX_CURSOR_LENGTH = 512

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
CursorQuery = Annotated[
    str | None, Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page")
]


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(after_id: str) -> str:
    """The opaque cursor that continues after `after_id`."""
    raw = json.dumps({"after": after_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor continues after; a malformed or tampered cursor is a 422 naming `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise invalid("cursor", "not a cursor this API issued", "invalid_cursor") from exc
    if not isinstance(after, str) or not after:
        raise invalid("cursor", "not a cursor this API issued", "invalid_cursor")
    return after


def keyset(statement: S, key: Any, *, limit: int, cursor: str | None) -> S:
    """Restrict `statement` to the page after `cursor`, ordered by `key`, fetching one extra row."""
    if cursor is not None:
        statement = statement.where(key > decode_cursor(cursor))
    return statement.order_by(key).limit(limit + 1)


def page_of(rows: Sequence[T], *, limit: int, key_of: Any) -> tuple[list[T], str | None]:
    """Split the `limit + 1` fetched rows into the page and the cursor of the next one."""
    items = list(rows[:limit])
    next_cursor = encode_cursor(key_of(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor


async def visible_page(
    session: AsyncSession,
    statement: Select[Any],
    key: Any,
    *,
    keep: Callable[[Any], bool],
    limit: int,
    cursor: str | None,
    chunk: int = 200,
) -> tuple[list[Any], str | None]:
    """A page of the rows `keep` accepts (a check SQL cannot express), scanning `chunk` rows at a time."""
    kept: list[Any] = []
    after = cursor
    while True:
        rows = (await session.exec(keyset(statement, key, limit=chunk - 1, cursor=after))).all()  # type: ignore[call-overload]
        kept += [row for row in rows if keep(row)]
        if len(kept) > limit or len(rows) < chunk:
            return page_of(kept, limit=limit, key_of=lambda row: row.id)
        after = encode_cursor(rows[-1].id)
