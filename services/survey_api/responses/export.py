"""Streaming export of responses as CSV or NDJSON, in constant memory: keyset batches, written as they come."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlmodel import col, select

from services.survey_api.responses.filters import ResponseFilters, filtered
from services.survey_api.responses.models import SurveyResponse
from shared.auth import Principal
from shared.db import Database

BATCH_SIZE = 1000
COLUMNS = (
    "id",
    "survey_id",
    "survey_version",
    "external_id",
    "contact_id",
    "channel",
    "source",
    "language",
    "unit",
    "touchpoint_id",
    "finished",
    "submitted_at",
    "completed_at",
    "anonymised_at",
    "answers",
    "attributes",
)
_JSON_COLUMNS = {"answers", "attributes"}
_FORMULA_STARTS = {"=", "+", "-", "@", "\t", "\r"}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}


async def _batches(db: Database, principal: Principal, filters: ResponseFilters) -> AsyncIterator[Sequence[Any]]:
    """Rows of the export a batch at a time, each batch in its own short transaction (no long-held cursor)."""
    after: str | None = None
    columns = [getattr(SurveyResponse, name) for name in COLUMNS]
    while True:
        statement = filtered(select(*columns), principal=principal, filters=filters)
        if after is not None:
            statement = statement.where(col(SurveyResponse.id) > after)
        async with db.sessions() as session:
            rows = (await session.exec(statement.order_by(col(SurveyResponse.id)).limit(BATCH_SIZE))).all()
        if not rows:
            return
        yield rows
        if len(rows) < BATCH_SIZE:
            return
        after = rows[-1][0]


def _record(row: Sequence[Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in zip(COLUMNS, row, strict=True)
    }


def _csv_cell(name: str, value: Any) -> Any:
    if name in _JSON_COLUMNS:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:  # spreadsheets would run it as a formula
        return "'" + value
    return "" if value is None else value


async def export(db: Database, principal: Principal, filters: ResponseFilters, fmt: str) -> AsyncIterator[bytes]:
    """The export as chunks of bytes: a header then one chunk per batch (CSV), or one JSON object per line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if fmt == "csv":
        writer.writerow(COLUMNS)
    async for rows in _batches(db, principal, filters):
        for row in rows:
            record = _record(row)
            if fmt == "csv":
                writer.writerow([_csv_cell(name, record[name]) for name in COLUMNS])
            else:
                buffer.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


async def started(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`chunks` with its first one already read: the first query runs before the response starts, so an
    unreachable database is a 503 rather than a stream cut after its headers."""
    first = await anext(chunks, None)

    async def resumed() -> AsyncIterator[bytes]:
        if first is not None:
            yield first
        async for chunk in chunks:
            yield chunk

    return resumed()
