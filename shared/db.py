"""Async engine and session factory, the session dependency, table bases and portable column types."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import JSON, ColumnElement, DateTime, MetaData, event, false, or_, select, text, update
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator
from sqlmodel.ext.asyncio.session import AsyncSession

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


def new_registry() -> registry:
    """A registry with its own metadata: each service's table base uses one, so tables stay apart."""
    return registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a timezone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def async_url(url: str) -> str:
    """Map the URLs people write (`postgresql://`, `sqlite:///`) to the async drivers we use."""
    parsed = make_url(url)
    driver = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg", "sqlite": "sqlite+aiosqlite"}
    if parsed.drivername in driver:
        parsed = parsed.set(drivername=driver[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (for Alembic)."""
    parsed = make_url(async_url(url))
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def install_sqlite_pragmas(sync_engine: Any) -> None:
    """WAL, foreign keys and a busy timeout on every new SQLite connection (sync or async engine)."""
    event.listen(sync_engine, "connect", _sqlite_pragmas)


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine: aiosqlite (WAL, FKs, busy timeout) or psycopg async with a pool."""
    url = async_url(url)
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 10})
        install_sqlite_pragmas(engine.sync_engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class Database:
    """One service's engine and session factory."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = async_url(url)
        self.engine = create_engine(url, pool_size=pool_size, echo=echo)
        self.info: dict[str, Any] = {}  # copied into each session's `info` (the outbox keeps its listeners here)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False, info=self.info)

    @property
    def is_postgres(self) -> bool:
        """Whether this is PostgreSQL (row locks, SKIP LOCKED) rather than SQLite."""
        return self.engine.dialect.name == "postgresql"

    async def ping(self) -> None:
        """Run a trivial query; raises when the database does not answer."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    """The database of the app serving this request."""
    database: Database = request.app.state.db
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one request: committed when the handler succeeds, rolled back when it raises."""
    async with get_database(request).sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit happens before the response is sent, so a failed commit is never a 2xx.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
DatabaseDep = Annotated[Database, Depends(get_database)]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def in_subtrees(column: Any, paths: Sequence[str]) -> ColumnElement[bool]:
    """SQL: the path in `column` equals one of `paths` or lies below it (`emea` matches `emea/de`)."""
    if not paths:
        return false()
    return or_(*(or_(column == p, column.like(_like_escape(p) + "/%", escape="\\")) for p in paths))


def insert_ignoring_conflicts(session: AsyncSession, table: Any, *, conflict_columns: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for the dialect in use (SQLite or PostgreSQL); add `.returning(...)`."""
    dialect = postgresql_dialect if session.get_bind().dialect.name == "postgresql" else sqlite_dialect
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def claim_statement(
    table: Any,
    *,
    where: Sequence[Any],
    values: dict[str, Any],
    limit: int,
    order_by: Sequence[Any],
    skip_locked: bool,
    recheck: bool = False,
) -> Any:
    """A lease on up to `limit` due rows: `UPDATE … SET values WHERE id IN (SELECT id … LIMIT n) RETURNING` them.

    On PostgreSQL the inner select takes `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same
    row; on SQLite the single writer makes the one statement atomic. Rows come back in no particular order.
    `recheck` repeats `where` on the update itself, for claims whose mark is part of the condition (claimed once).
    """
    due = select(table.id).where(*where).order_by(*order_by).limit(limit)
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    outer = [table.id.in_(due.scalar_subquery()), *(where if recheck else ())]
    return update(table).where(*outer).values(**values).returning(table).execution_options(synchronize_session=False)
