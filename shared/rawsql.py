"""Statements on the driver connection under a session, for the hottest write paths (one per request).

SQLAlchemy's session costs more CPU than a short statement itself (~0.2-0.6 ms against ~0.06 ms through
psycopg, bench/PROFILE.md). `driver_of` hands out the psycopg (PostgreSQL) or aiosqlite (SQLite) connection
the session's transaction already uses, so what runs here commits or rolls back with the rest of the request.
SQL is written once with `%s` placeholders and rendered per dialect; values are shaped from the table's column
types the way SQLAlchemy would bind them (JSON, UTC timestamps, booleans), so the ORM reads them back as usual.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, Table
from sqlalchemy.engine import Dialect
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import UTCDateTime

Shaper = Callable[[Any], Any]


def _sqlite_timestamp(value: dt.datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for a UTC instant (what `UTCDateTime` reads back)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _psycopg_json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _sqlite_json(value: Any) -> str:
    return json.dumps(value)


def _shaper(column_type: Any, dialect: str) -> Shaper | None:
    """How a Python value of this column type goes to the driver (None: as it is)."""
    if isinstance(column_type, JSON) or isinstance(getattr(column_type, "impl", None), JSON):
        return _psycopg_json if dialect == "postgresql" else _sqlite_json
    if dialect == "sqlite" and isinstance(column_type, UTCDateTime):
        return _sqlite_timestamp
    if dialect == "sqlite" and isinstance(column_type, Boolean):
        return int
    return None


@dataclass
class RawTable:
    """One table's INSERT and UPDATE statements rendered for one dialect, and its values shaped to match."""

    table: Table
    dialect: Dialect
    shapers: dict[str, Shaper | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shapers = {c.name: _shaper(c.type, self.dialect.name) for c in self.table.columns}

    def quote(self, name: str) -> str:
        """The identifier as the dialect quotes it (`key` is a keyword in SQLite)."""
        return str(self.dialect.identifier_preparer.quote(name))

    def values(self, columns: Sequence[str], row: dict[str, Any]) -> list[Any]:
        """The row's values for `columns`, shaped for the driver (None stays NULL)."""
        shaped = []
        for name in columns:
            value, shaper = row[name], self.shapers[name]
            shaped.append(value if value is None or shaper is None else shaper(value))
        return shaped

    @property
    def name(self) -> str:
        """The quoted table name."""
        return self.quote(self.table.name)


@lru_cache(maxsize=64)
def raw_table(table: Table, dialect: Dialect) -> RawTable:
    """The (cached) raw statements helper of `table` on `dialect`."""
    return RawTable(table, dialect)


@lru_cache(maxsize=256)
def insert_sql(
    table: Table, dialect: Dialect, columns: tuple[str, ...], *, conflict: tuple[str, ...] = (), returning: str = ""
) -> str:
    """`INSERT INTO t (columns) VALUES (%s, …)`, optionally `ON CONFLICT (…) DO NOTHING` and `RETURNING col`."""
    raw = raw_table(table, dialect)
    names, marks = ", ".join(raw.quote(c) for c in columns), ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {raw.name} ({names}) VALUES ({marks})"  # noqa: S608 - identifiers from our own metadata
    if conflict:
        sql += f" ON CONFLICT ({', '.join(raw.quote(c) for c in conflict)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {raw.quote(returning)}"
    return sql


@lru_cache(maxsize=256)
def update_sql(table: Table, dialect: Dialect, columns: tuple[str, ...], where: tuple[str, ...]) -> str:
    """`UPDATE t SET column = %s, … WHERE key = %s AND …` (values first, then the keys)."""
    raw = raw_table(table, dialect)
    assignments = ", ".join(f"{raw.quote(c)} = %s" for c in columns)
    return f"UPDATE {raw.name} SET {assignments} WHERE {' AND '.join(f'{raw.quote(c)} = %s' for c in where)}"  # noqa: S608


@dataclass
class Driver:
    """The driver connection of a session's transaction: `execute` runs `%s`-style SQL on either dialect."""

    connection: Any
    dialect: Dialect

    @property
    def is_postgres(self) -> bool:
        """PostgreSQL (psycopg) rather than SQLite (aiosqlite)."""
        return self.dialect.name == "postgresql"

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in the session's transaction; the rows it returns (none for most writes)."""
        if self.is_postgres:
            cursor = await self.connection.execute(sql, params)
            return list(await cursor.fetchall()) if cursor.description is not None else []
        cursor = await self.connection.execute(sql.replace("%s", "?"), params)
        try:
            return list(await cursor.fetchall()) if cursor.description is not None else []
        finally:
            await cursor.close()

    def table(self, table: Table) -> RawTable:
        """The raw statements helper of `table` for this dialect."""
        return raw_table(table, self.dialect)


async def driver_of(session: AsyncSession) -> Driver:
    """The driver connection under `session` (its transaction begun), for statements that skip the ORM."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return Driver(raw.driver_connection, connection.dialect)


async def copy_rows(driver: Driver, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY many rows (all with the same keys) into `table` in the session's transaction (PostgreSQL only)."""
    if not rows:
        return
    raw, columns = driver.table(table), tuple(rows[0])
    sql = f"COPY {raw.name} ({', '.join(raw.quote(c) for c in columns)}) FROM STDIN"
    async with driver.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            await copy.write_row(raw.values(columns, row))
