"""`cxloop import`: a CSV or NDJSON file streamed through the batch endpoints, resumable, rejects reported."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cxloop.importer import ImportFailed, Mapping, import_file, rows_of
from tests.conftest import TokenFactory
from tests.survey_api.helpers import make_units, published_survey


@pytest.fixture
async def api(survey_app: FastAPI, auth: TokenFactory) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=survey_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://survey", headers=auth()) as client:
        yield client


async def everything(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = (await client.get(path, params={"limit": 500, **({"cursor": cursor} if cursor else {})})).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


async def test_responses_csv_with_a_mapping_is_resumable_and_reports_rejects(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    await make_units(api, {}, "emea", "emea/de")
    survey = await published_survey(api, {})
    header = ["Response ID", "Customer", "Date", "Score", "Comment", "Problems", "Store", "Staff"]
    rows = [
        ["r-1", "cust-1", "2026-10-01T10:00:00+00:00", "3", "Late, again", "delivery;price", "emea/de", "2"],
        ["r-2", "cust-2", "2026-10-02T10:00:00+00:00", "10", "", "", "emea", "5"],
        ["r-3", "cust-1", "2026-10-03T10:00:00+00:00", "11", "", "", "emea", "4"],  # out of scale
        ["", "cust-3", "2026-10-04T10:00:00+00:00", "8", "", "", "emea", ""],  # no id: file:line
        ["r-5", "", "2026-10-05T10:00:00+00:00", "9", "", "", "emea", "4"],  # anonymous
    ]
    data = write_csv(tmp_path / "export.csv", header, rows)
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(
        "columns:\n  external_id: Response ID\n  contact_external_id: Customer\n  submitted_at: Date\n"
        "  unit: Store\n  nps: Score\n  why: Comment\n  reasons: Problems\n  csat_staff: Staff\nlists: [reasons]\n"
    )
    seen: list[int] = []
    summary = await import_file(
        client=api,
        kind="responses",
        path=data,
        survey_id=survey["id"],
        mapping=Mapping.load(mapping_file),
        batch_size=2,
        on_bytes=seen.append,
    )
    assert (summary.rows, summary.accepted, summary.duplicates, summary.rejected, summary.batches) == (5, 4, 0, 1, 3)
    assert sum(seen) == data.stat().st_size  # the progress bar reaches the end of the file
    with (tmp_path / "export.csv.rejected.csv").open() as report:
        rejected = list(csv.DictReader(report))
    assert [(r["line"], r["external_id"]) for r in rejected] == [("4", "r-3")]
    assert "answers.nps" in rejected[0]["errors"]

    stored = {r["external_id"]: r for r in await everything(api, "/v1/responses")}
    assert set(stored) == {"r-1", "r-2", "export.csv:5", "r-5"}
    expected = {"nps": 3, "why": "Late, again", "reasons": ["delivery", "price"], "csat_staff": 2}
    assert stored["r-1"]["answers"] == expected
    assert stored["r-1"]["unit"] == "emea/de"
    assert stored["r-1"]["submitted_at"].startswith("2026-10-01T10:00:00")
    assert stored["r-5"]["contact_id"] is None
    contacts = {c["external_id"] for c in await everything(api, "/v1/contacts")}
    assert contacts == {"cust-1", "cust-2", "cust-3"}

    again = await import_file(client=api, kind="responses", path=data, survey_id=survey["id"],
                              mapping=Mapping.load(mapping_file))  # fmt: skip
    assert (again.accepted, again.duplicates, again.rejected) == (0, 4, 1)
    assert len(await everything(api, "/v1/responses")) == 4


async def test_contacts_csv_and_outcomes_ndjson(api: httpx.AsyncClient, tmp_path: Path) -> None:
    await make_units(api, {}, "emea")
    contacts = write_csv(
        tmp_path / "contacts.csv",
        ["external_id", "email", "unit", "tier", "lifetime_value"],
        [["c-1", "a@example.com", "emea", "gold", "1200"], ["c-2", "not-an-email", "emea", "silver", "80.5"]],
    )
    summary = await import_file(client=api, kind="contacts", path=contacts)
    assert (summary.accepted, summary.rejected) == (1, 1)
    stored = await everything(api, "/v1/contacts")
    assert [(c["external_id"], c["attributes"]) for c in stored] == [("c-1", {"tier": "gold", "lifetime_value": 1200})]

    outcomes = tmp_path / "outcomes.ndjson"
    lines = [
        {"external_id": "o-1", "contact": {"external_id": "c-1"}, "kind": "revenue", "value": 99.5,
         "occurred_at": "2026-11-01T00:00:00+00:00"},
        {"external_id": "o-2", "contact": {"external_id": "nobody"}, "kind": "churned",
         "occurred_at": "2026-11-01T00:00:00+00:00"},
    ]  # fmt: skip
    outcomes.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = await import_file(client=api, kind="outcomes", path=outcomes, rejects=tmp_path / "bad.csv")
    assert (result.accepted, result.rejected) == (1, 1)
    assert "unknown_contact" in (tmp_path / "bad.csv").read_text()


async def test_a_refused_batch_stops_the_import(survey_app: FastAPI, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "r.csv", ["external_id", "nps"], [["x", "9"]])
    transport = httpx.ASGITransport(app=survey_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://survey") as anonymous:
        with pytest.raises(ImportFailed, match="401"):
            await import_file(client=anonymous, kind="responses", path=data, survey_id="srv_x")


def test_rows_are_read_lazily(tmp_path: Path) -> None:
    """Constant memory: a row is yielded once its line is read, not after the whole file."""
    data = write_csv(tmp_path / "big.csv", ["external_id", "nps"], [[f"r{i}", i % 11] for i in range(10_000)])
    read: list[int] = []
    with data.open("rb") as stream:
        rows = rows_of(stream, ndjson=False, on_bytes=read.append)
        first = next(rows)
        assert first == (2, {"external_id": "r0", "nps": "0"})
        assert sum(read) < 1000  # only the first lines were read
