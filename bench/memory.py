"""Memory: a 100,000-response export and a 10,000-contact bulk upsert must keep survey_api's memory flat.

Both run against a real `cxloop serve survey` process on PostgreSQL; the figure is the server's peak RSS
(VmHWM) minus its RSS after a warm-up. Floors, measured in this process with tracemalloc:
- export: PostgreSQL writing the same rows as CSV itself (`COPY (SELECT …) TO STDOUT`), streamed to this process;
- bulk upsert: `json.loads` of the same request body (what any server must hold to read the request).
"Flat" means the growth at 100,000 rows is within 1.5x the growth at 10,000 (export), and five more 10,000-contact
calls leave the RSS where the first left it, within 10 % (no per-call leak).

    .venv/bin/python -m bench.memory [--rows 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import tracemalloc
from collections.abc import Callable, Iterator

import httpx
import psycopg

from bench.harness import ORG, Report, Server, free_port, fresh_database, psycopg_url, service, token
from cxloop.migrations import upgrade

COLUMNS = (
    "id, org, survey_id, survey_version, external_id, contact_id, channel, source, language, unit, touchpoint_id,"
    " attributes, answers, finished, submitted_at, completed_at, anonymised_at, created_at, updated_at"
)
SURVEY = (
    "INSERT INTO surveys (id, org, name, kind, audience, languages, default_language, questions, status, version,"
    " published_version, created_at, updated_at) VALUES ('srv_1', %s, 'B', 'relational', 'customers',"
    " '[\"en\"]', 'en', '[]', 'active', 1, 1, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
)


def _response_rows(count: int) -> Iterator[tuple[object, ...]]:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(count):
        at = start + dt.timedelta(seconds=i)
        yield (
            f"rsp_{i:026d}", ORG, "srv_1", 1, f"ext-{i}", None, "email", "partner", "en", "emea/de", None,
            json.dumps({"tier": "gold"}), json.dumps({"nps": i % 11, "why": "because " * 5}), True,
            at, None, None, start, start,
        )  # fmt: skip


def seed_responses(url: str, count: int) -> None:
    """Migrate survey_api's database at `url` and COPY one survey's `count` finished responses into it."""
    upgrade("survey_api", url)
    with psycopg.connect(psycopg_url(url)) as connection:
        connection.execute(SURVEY, (ORG,))
        with connection.cursor().copy(f"COPY responses ({COLUMNS}) FROM STDIN") as copy:
            for row in _response_rows(count):
                copy.write_row(row)


def _traced(work: Callable[[], int]) -> tuple[float, int, float]:
    """Seconds, the work's result, and the peak traced MiB of running `work` in this process."""
    tracemalloc.start()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, result, peak / 2**20


def floor_export(url: str) -> int:
    """Bytes of the same rows as CSV written by PostgreSQL itself (`COPY (SELECT …) TO STDOUT`), read in chunks:
    no exporter can do less work."""
    query = f"COPY (SELECT {COLUMNS} FROM responses ORDER BY id) TO STDOUT (FORMAT csv, HEADER)"  # noqa: S608
    size = 0
    with psycopg.connect(psycopg_url(url)) as connection, connection.cursor().copy(query) as copy:
        for chunk in copy:
            size += len(chunk)
    return size


def project_export(server: Server, headers: dict[str, str]) -> tuple[float, int, float]:
    """Seconds, bytes, and the server's peak RSS growth (MiB) for one streamed CSV export over loopback."""
    early = {"to": "2026-01-01T00:00:05+00:00"}  # warm every code path on a handful of rows
    httpx.get(f"{server.url}/v1/responses/export", params=early, headers=headers, timeout=60).raise_for_status()
    baseline = server.rss_mib()
    started, size = time.perf_counter(), 0
    with httpx.stream("GET", f"{server.url}/v1/responses/export", headers=headers, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
    return time.perf_counter() - started, size, server.peak_rss_mib() - baseline


def _contacts(count: int, run: str) -> dict[str, object]:
    items = [
        {
            "external_id": f"{run}-{i}",
            "email": f"person{i}@example.com",
            "name": f"Person {i}",
            "attributes": {"tier": ("gold", "silver", "bronze")[i % 3], "since": 2000 + i % 25},
        }
        for i in range(count)
    ]
    return {"items": items}


def _bulk(server: Server, headers: dict[str, str], body: bytes) -> None:
    answer = httpx.post(f"{server.url}/v1/contacts/bulk", content=body, headers=headers, timeout=300)
    answer.raise_for_status()
    rejected = answer.json()["rejected"]
    if rejected:
        raise RuntimeError(f"bulk upsert rejected {rejected} items")


def export_memory(report: Report, rows: int) -> None:
    """Export `rows // 10` and `rows` responses; server growth vs the traced floor, and the flatness check."""
    growth: dict[int, float] = {}
    for count in (rows // 10, rows):
        url = fresh_database("bench_memory_survey")
        seed_responses(url, count)
        floor_seconds, _, floor_peak = _traced(lambda url=url: floor_export(url))  # type: ignore[misc]
        server = service("survey", {"survey": url}, {"survey": free_port()}).start()
        try:
            headers = {"Authorization": f"Bearer {token(['responses:read'])}"}
            seconds, size, growth[count] = project_export(server, headers)
        finally:
            server.stop()
        report.add(
            "memory",
            f"export {count:,} responses: server RSS growth",
            f"{growth[count]:.1f} MiB",
            f"{floor_peak:.1f} MiB (traced)",
        )
        report.add(
            "memory",
            f"export {count:,} responses: rows/s",
            f"{count / seconds:,.0f}",
            f"{count / floor_seconds:,.0f}",
            f"{floor_seconds / seconds:.0%}",
        )
        report.notes.append(f"export of {count:,} rows: {size:,} bytes of CSV")
    flat = growth[rows] <= 1.5 * growth[rows // 10] or growth[rows] - growth[rows // 10] <= 2
    report.add(
        "memory",
        f"export growth at {rows:,} vs {rows // 10:,} rows",
        f"{growth[rows]:.1f} MiB",
        f"{growth[rows // 10]:.1f} MiB",
        f"{growth[rows] / growth[rows // 10]:.2f}x",
        "≤ 1.5x or ≤ 2 MiB more (flat)",
        met=flat,
    )


def bulk_upsert_memory(report: Report, contacts: int = 10_000, repeats: int = 5) -> None:
    """One `contacts`-item bulk upsert, then `repeats` more: growth per call vs parsing the body, and no leak."""
    url = fresh_database("bench_memory_survey")
    upgrade("survey_api", url)
    server = service("survey", {"survey": url}, {"survey": free_port()}).start()
    try:
        headers = {"Authorization": f"Bearer {token(['contacts:write'])}", "Content-Type": "application/json"}
        _bulk(server, headers, json.dumps(_contacts(100, "warm")).encode())
        baseline = server.rss_mib()
        body = json.dumps(_contacts(contacts, "first")).encode()
        started = time.perf_counter()
        _bulk(server, headers, body)
        seconds = time.perf_counter() - started
        first = server.peak_rss_mib() - baseline
        after_first = server.rss_mib()
        for repeat in range(repeats):
            _bulk(server, headers, json.dumps(_contacts(contacts, f"again{repeat}")).encode())
        after_all = server.rss_mib()
        peak = server.peak_rss_mib() - baseline
    finally:
        server.stop()
    _, _, floor_peak = _traced(lambda: len(json.loads(body)["items"]))
    report.add(
        "memory",
        f"bulk upsert {contacts:,} contacts: server RSS growth",
        f"{first:.1f} MiB",
        f"{floor_peak:.1f} MiB",
        f"{first / floor_peak:.1f}x",
    )
    report.add("memory", f"bulk upsert {contacts:,} contacts: contacts/s", f"{contacts / seconds:,.0f}")
    leak = (after_all - after_first) / max(after_first, 1)
    report.add(
        "memory",
        f"RSS after {repeats} more {contacts:,}-contact upserts",
        f"{after_all:.0f} MiB (peak growth {peak:.1f} MiB)",
        f"{after_first:.0f} MiB after the first",
        f"{after_all / after_first:.2f}x",
        "≤ 1.10x (no leak)",
        met=leak <= 0.10,
    )
    report.notes.append(
        f"bulk upsert floor: tracemalloc peak of json.loads of the {len(body):,}-byte body of {contacts:,} contacts"
    )


def run(report: Report, *, rows: int = 100_000, contacts: int = 10_000) -> None:
    """The memory section: export flatness and bulk-upsert memory."""
    export_memory(report, rows)
    bulk_upsert_memory(report, contacts)


def main() -> None:
    """Run the memory section alone and print its table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=10_000)
    args = parser.parse_args()
    report = Report()
    run(report, rows=args.rows, contacts=args.contacts)
    print(report.markdown())


if __name__ == "__main__":
    main()
