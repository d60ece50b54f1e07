"""SQL helpers for both dialects: upserts that add, and unit paths (ancestors, subtrees)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, false, true
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import in_subtrees


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """The INSERT of the dialect in use, which knows `ON CONFLICT` (SQLite or PostgreSQL)."""
    dialect = postgresql_dialect if session.get_bind().dialect.name == "postgresql" else sqlite_dialect
    return dialect.insert(table)


async def upsert_adding(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    add: Sequence[str],
) -> None:
    """INSERT the rows, or add their `add` columns to the row already at `key` (`h0 = h0 + excluded.h0`, …)."""
    if not rows:
        return
    statement = dialect_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=list(key), set_={column: table.c[column] + statement.excluded[column] for column in add}
    )
    await session.exec(statement, params=list(rows))


async def upsert_replacing(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    replace: Sequence[str],
) -> None:
    """INSERT the rows, or overwrite the `replace` columns of the row already at `key`."""
    if not rows:
        return
    statement = dialect_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=list(key), set_={column: statement.excluded[column] for column in replace}
    )
    await session.exec(statement, params=list(rows))


async def insert_missing(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], *, key: Sequence[str]
) -> None:
    """INSERT the rows whose `key` is not taken yet (a concurrent insert of the same key waits, then skips)."""
    if rows:
        statement = dialect_insert(session, table).on_conflict_do_nothing(index_elements=list(key))
        await session.exec(statement, params=list(rows))


def ancestors(unit: str) -> list[str]:
    """Every node from the org root `""` down to `unit` itself: `emea/de` → `["", "emea", "emea/de"]`."""
    if not unit:
        return [""]
    parts = unit.split("/")
    return ["", *("/".join(parts[: i + 1]) for i in range(len(parts)))]


def parent_path(unit: str) -> str | None:
    """The parent of a node: `""` for a top-level unit, None for the root itself."""
    if not unit:
        return None
    return unit.rpartition("/")[0]


def within(column: Any, roots: Sequence[str]) -> ColumnElement[bool]:
    """SQL: the unit path in `column` lies in one of the subtrees `roots` (the root `""` is everything)."""
    if "" in roots:
        return true()
    return in_subtrees(column, roots)


def child_key(unit: str, roots: Sequence[str]) -> str | None:
    """The league-table group of a unit: the child of the single root it lies under, or the root it lies in.

    None when it is the single root itself (its own answers count in the total, in no child).
    """
    if len(roots) != 1:
        return next((r for r in roots if unit == r or unit.startswith(r + "/") or r == ""), None)
    root = roots[0]
    if unit == root:
        return None
    prefix = root + "/" if root else ""
    return prefix + unit[len(prefix) :].split("/")[0]


def top_roots(units: Sequence[str]) -> tuple[str, ...]:
    """The units of a token without those nested in another one (their data is already in the outer one)."""
    unique = sorted(set(units))
    return tuple(u for u in unique if not any(u != o and (o == "" or u.startswith(o + "/")) for o in unique))


def one_of(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """SQL `column = value` for one value, `column IN (…)` for several."""
    if not values:
        return false()
    condition: ColumnElement[bool] = column == values[0] if len(values) == 1 else column.in_(list(values))
    return condition
