"""CSV import of outcomes: partners often have a file, not an API client.

The file is UTF-8 (a byte-order mark is fine), comma-separated, with a header naming exactly the columns
`external_id, contact_external_id, kind, value, occurred_at` in any order (`value` may be left out or empty).
Each row is one outcome and goes through the batch's checks: a bad row is rejected with its errors, the good
rows are kept. A row's `index` in the answer is its record number in the file, the header being row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.contacts.outcomes import record_batch
from services.survey_api.responses.schemas import BatchRejection, BatchResult
from shared.auth import Principal
from shared.errors import CxloopError, FieldError, PayloadTooLarge, invalid

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
REQUIRED = ("external_id", "contact_external_id", "kind", "occurred_at")
COLUMNS = (*REQUIRED, "value")
MEDIA_TYPE = "text/csv"
# What a problem of a row's body names, as the column of the file that holds it.
FIELD_COLUMNS = {"contact.external_id": "contact_external_id", "contact": "contact_external_id"}


class UnsupportedMediaType(CxloopError):
    """415: the import takes `text/csv` only."""

    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


async def read_limited(chunks: AsyncIterator[bytes], content_type: str | None) -> str:
    """The request's CSV text: 415 unless `text/csv`, 413 past MAX_BYTES, 422 unless UTF-8."""
    if (content_type or "").split(";")[0].strip().lower() != MEDIA_TYPE:
        raise UnsupportedMediaType(f"Send the file with Content-Type: {MEDIA_TYPE}")
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > MAX_BYTES:
            raise PayloadTooLarge(f"A CSV import holds at most {MAX_BYTES // (1024 * 1024)} MB; split the file")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise invalid("body", "the file must be UTF-8 text", "encoding") from exc


def _check_header(header: list[str] | None) -> None:
    if not header:
        raise invalid("body", f"the file is empty: the first row names the columns {', '.join(COLUMNS)}", "empty")
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        problem = f"the header must name {', '.join(COLUMNS)} once each (value may be left out)"
        details = f"; missing: {', '.join(missing) or '-'}; unknown: {', '.join(unknown) or '-'}"
        raise invalid("header", problem + details, "header")


def _item(row: dict[str | None, Any]) -> dict[str, Any] | FieldError:
    """A row as an outcome body (the batch validates it), or the error of a malformed row."""
    if None in row:
        return FieldError(field="", message="the row has more cells than the header", code="extra_cells")
    value = row.get("value")
    item: dict[str, Any] = {
        "external_id": row.get("external_id"),
        "contact": {"external_id": row.get("contact_external_id")},
        "kind": row.get("kind"),
        "occurred_at": row.get("occurred_at"),
    }
    if value not in (None, ""):
        item["value"] = value
    return item


def parse(text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[BatchRejection]]:
    """The rows of a CSV file as (row number, outcome body), and the rows malformed as CSV."""
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        _check_header(reader.fieldnames)  # type: ignore[arg-type]
        items: list[tuple[int, dict[str, Any]]] = []
        rejected: list[BatchRejection] = []
        for number, row in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                raise PayloadTooLarge(f"A CSV import holds at most {MAX_ROWS} rows; split the file")
            item = _item(row)
            if isinstance(item, FieldError):
                rejected.append(BatchRejection(index=number, errors=[item]))
            else:
                items.append((number, item))
    except csv.Error as exc:
        raise invalid("body", f"not a valid CSV file: {exc}", "csv") from exc
    return items, rejected


def _by_column(result: BatchResult) -> BatchResult:
    """The rows' errors naming the file's columns rather than the JSON body's fields."""
    for rejection in result.rejected:
        for error in rejection.errors:
            error.field = FIELD_COLUMNS.get(error.field, error.field)
    return result


async def import_csv(*, session: AsyncSession, principal: Principal, text: str) -> BatchResult:
    """Record every good row of the file; the answer gives each row's fate by its row number."""
    items, malformed = parse(text)
    if not items and not malformed:
        raise invalid("body", "the file has a header but no rows", "no_rows")
    result = await record_batch(session=session, principal=principal, items=items)
    result.rejected = sorted([*result.rejected, *malformed], key=lambda r: r.index)
    return _by_column(result)
