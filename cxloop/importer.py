"""`cxloop import`: stream a CSV or NDJSON file through survey_api's batch endpoints, in constant memory.

Each row becomes one item (a response, a contact or an outcome); items go in batches; what the service rejects
is written, with the row's line number and every error, to a report file. A row without an `external_id`
gets `<file name>:<line>`, so running the same import again (after a crash, or to resume) finds every row
already stored as a duplicate instead of storing it twice.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import httpx
import yaml

Kind = Literal["responses", "contacts", "outcomes"]
ENDPOINTS: dict[str, tuple[str, int]] = {  # path, largest batch the endpoint takes
    "responses": ("/v1/responses/batch", 1000),
    "contacts": ("/v1/contacts/bulk", 10_000),
    "outcomes": ("/v1/outcomes/batch", 1000),
}
FIELDS: dict[str, tuple[str, ...]] = {  # the columns that are fields of the item, not answers or attributes
    "responses": ("external_id", "contact_external_id", "channel", "unit", "language", "submitted_at", "finished"),
    "contacts": ("external_id", "email", "phone", "name", "locale", "unit"),
    "outcomes": ("external_id", "contact_external_id", "kind", "value", "occurred_at"),
}
_INTEGER = re.compile(r"^-?\d{1,15}$")
_NUMBER = re.compile(r"^-?\d{1,15}\.\d+$")


@dataclass(frozen=True)
class Mapping:
    """How a file's columns become items: `columns` renames (field or question key → column name), `lists`
    names the questions whose cell holds several `;`-separated codes, `ignore` drops columns."""

    columns: dict[str, str] = field(default_factory=dict)
    lists: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path | None) -> Mapping:
        """Read a mapping YAML (`columns:`, `lists:`, `ignore:`); none means columns are named like the fields."""
        if path is None:
            return cls()
        document = yaml.safe_load(path.read_text()) or {}
        columns = {str(k): str(v) for k, v in (document.get("columns") or {}).items()}
        return cls(columns, frozenset(document.get("lists") or ()), frozenset(document.get("ignore") or ()))

    def rename(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row keyed by field / question names."""
        by_column = {column: name for name, column in self.columns.items()}
        return {by_column.get(k, k): v for k, v in row.items() if k not in self.ignore and k is not None}


@dataclass
class Summary:
    """What an import did: rows read, and how many the service accepted, found already stored, or rejected."""

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0


def _cell(value: Any, *, as_list: bool = False) -> Any:
    """A CSV cell as JSON: integers and decimals as numbers, `a;b` as a list where asked, empty as absent."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if as_list:
        return [part.strip() for part in value.split(";") if part.strip()]
    if _INTEGER.match(value):
        return int(value)
    if _NUMBER.match(value):
        return float(value)
    return value


def item_of(
    kind: Kind, row: dict[str, Any], *, mapping: Mapping, survey_id: str | None, default_id: str, parsed: bool = False
) -> dict[str, Any]:
    """The request item of one row: a CSV row's strings converted, or an NDJSON object (`parsed`) as it is."""
    named = mapping.rename(row)
    if parsed:
        defaults = {"external_id": default_id, **({"survey_id": survey_id} if kind == "responses" else {})}
        return defaults | named
    known = FIELDS[kind]
    fields = {k: v for k, v in named.items() if k in known and v not in ("", None)}
    rest = {k: v for k, v in named.items() if k not in known and v not in ("", None)}
    fields.setdefault("external_id", default_id)
    contact = fields.pop("contact_external_id", None)
    if kind == "responses":
        answers = rest.pop("answers", None) or {k: _cell(v, as_list=k in mapping.lists) for k, v in rest.items()}
        item = {"survey_id": survey_id, **fields, "answers": answers}
        if contact is not None:
            item["contact"] = {"external_id": str(contact)}
        if isinstance(item.get("finished"), str):
            item["finished"] = item["finished"].strip().lower() in ("1", "true", "yes")
        return item
    if kind == "contacts":
        attributes = rest.pop("attributes", None) or {k.removeprefix("attr."): _cell(v) for k, v in rest.items()}
        return {**fields, "attributes": attributes} if attributes else fields
    item = {**fields, "contact": {"external_id": str(contact)} if contact is not None else None}
    if "value" in item:
        item["value"] = _cell(item["value"])
    return item


def rows_of(
    stream: IO[bytes], *, ndjson: bool, on_bytes: Callable[[int], None]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a CSV with a header or of NDJSON, read line by line (reporting bytes read)."""

    def lines() -> Iterator[str]:
        for raw in stream:
            on_bytes(len(raw))
            yield raw.decode("utf-8-sig")

    if ndjson:
        for number, line in enumerate(lines(), start=1):
            if line.strip():
                yield number, json.loads(line)
        return
    reader = csv.DictReader(lines())
    for row in reader:
        yield reader.line_num, dict(row)


class RejectReport:
    """The rejected rows: line, external_id and every error, as CSV (created on the first rejection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    def add(self, line: int, item: dict[str, Any], errors: Any) -> None:
        if self.handle is None:
            self.handle = self.path.open("w", newline="", encoding="utf-8")
            csv.writer(self.handle).writerow(["line", "external_id", "errors"])
        csv.writer(self.handle).writerow([line, item.get("external_id", ""), json.dumps(errors, ensure_ascii=False)])

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


async def _send(client: httpx.AsyncClient, kind: Kind, batch: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    path = ENDPOINTS[kind][0]
    for attempt in range(5):
        try:
            response = await client.post(path, json={"items": [item for _, item in batch]}, timeout=120)
        except httpx.TransportError:
            if attempt == 4:
                raise
            continue
        if response.status_code in (502, 503, 504) and attempt < 4:
            continue
        if response.status_code != 200:
            raise ImportFailed(f"{path} answered {response.status_code}: {response.text[:500]}")
        answer: dict[str, Any] = response.json()
        return answer
    raise ImportFailed(f"{path} did not answer")


class ImportFailed(Exception):
    """The service refused a whole batch (bad token, unknown survey): nothing more can be sent."""


def _tally(kind: Kind, answer: dict[str, Any], batch: list[tuple[int, dict[str, Any]]], summary: Summary,
           report: RejectReport) -> None:  # fmt: skip
    """Add one batch's answer to the summary and its rejected items to the report."""
    if kind == "contacts":
        summary.accepted += answer["created"] + answer["updated"]
        summary.duplicates += answer["unchanged"]
        rejected = [(r["index"], r["errors"]) for r in answer["items"] if r["status"] == "rejected"]
    else:
        summary.accepted += answer["accepted"]
        summary.duplicates += answer["duplicates"]
        rejected = [(r["index"], r["errors"]) for r in answer["rejected"]]
    summary.rejected += len(rejected)
    for index, errors in rejected:
        line, item = batch[index]
        report.add(line, item, errors)


async def import_file(
    *,
    client: httpx.AsyncClient,
    kind: Kind,
    path: Path,
    survey_id: str | None = None,
    mapping: Mapping | None = None,
    batch_size: int = 500,
    rejects: Path | None = None,
    on_bytes: Callable[[int], None] = lambda _: None,
) -> Summary:
    """Send every row of `path` as `kind` items in batches; rejected rows go to `rejects` (FILE.rejected.csv)."""
    if kind == "responses" and not survey_id:
        raise ImportFailed("importing responses needs --survey")
    size = min(batch_size, ENDPOINTS[kind][1])
    summary, mapping = Summary(), mapping or Mapping()
    report = RejectReport(rejects or path.with_name(path.name + ".rejected.csv"))
    batch: list[tuple[int, dict[str, Any]]] = []
    try:
        with path.open("rb") as stream:
            ndjson = path.suffix.lower() in (".ndjson", ".jsonl")
            for line, row in rows_of(stream, ndjson=ndjson, on_bytes=on_bytes):
                default_id = f"{path.name}:{line}"
                batch.append(
                    (
                        line,
                        item_of(kind, row, mapping=mapping, survey_id=survey_id, default_id=default_id, parsed=ndjson),
                    )
                )
                summary.rows += 1
                if len(batch) == size:
                    _tally(kind, await _send(client, kind, batch), batch, summary, report)
                    summary.batches += 1
                    batch = []
            if batch:
                _tally(kind, await _send(client, kind, batch), batch, summary, report)
                summary.batches += 1
    finally:
        report.close()
    return summary
