"""Ingest benchmarks: single and batch responses against their floors, and the loop's lag under that load.

1. Single ingest: `POST /v1/responses` (token, validation, Idempotency-Key, outbox) with wrk at several
   connection counts, against `bench/floor_app.py` (Starlette + one autocommit INSERT) at the same counts.
2. Batch ingest: `POST /v1/responses/batch` with 1,000 items a call, against psycopg `COPY` of the same rows
   into a `responses`-shaped table of the same PostgreSQL.
4. Loop lag: all three services running, the single-ingest load with every NPS score in turn; per response,
   accepted → in metrics' inbox and (detractors) accepted → case open in loop_api.

Every count wrk reports is checked against the rows stored. Databases: `bench_ingest_survey`, `_metrics`,
`_loop` and `bench_ingest_floor` on the benchmark PostgreSQL.

    .venv/bin/python -m bench.ingest [--seconds 8]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.floor_app import COLUMNS, TABLE_DDL
from bench.harness import (
    BENCH_DIR,
    LoadResult,
    Report,
    Server,
    Stack,
    fresh_database,
    percentile,
    psycopg_url,
    run_wrk,
    token,
)

PREFIX = "bench_ingest"
SINGLE_CONNECTIONS = (1, 16, 64)
LAG_CONNECTIONS = 16
BATCH_SIZE = 1000
SINGLE_TARGET = 0.50
BATCH_TARGET = 0.25
LAG_TARGET_SECONDS = 2.0
ARRIVAL_TIMEOUT_SECONDS = 90.0
POST_UNIQUE = BENCH_DIR / "wrk" / "post_unique.lua"
SCOPES = ["surveys:read", "surveys:write", "responses:read", "responses:write"]
SURVEY: dict[str, Any] = {
    "name": "Bench NPS",
    "kind": "transactional",
    "languages": ["en"],
    "questions": [
        {"key": "nps", "kind": "nps", "required": True, "prompt": {"en": "How likely are you to recommend us?"}},
        {"key": "why", "kind": "text", "show_if": {"question": "nps", "op": "<=", "value": 6},
         "prompt": {"en": "What went wrong?"}},
    ],
}  # fmt: skip


# ---------------------------------------------------------------------------------------------- set-up


def publish_survey(base_url: str, bearer: str) -> str:
    """Create a touchpoint and a one-question NPS survey on survey_api and publish it; the survey id."""
    headers = {"Authorization": f"Bearer {bearer}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        touchpoint = {"name": "Bench", "journey": "purchase", "stage": "fulfil"}
        touchpoint_id = client.post("/v1/touchpoints", json=touchpoint).raise_for_status().json()["id"]
        survey = client.post("/v1/surveys", json={**SURVEY, "touchpoint_id": touchpoint_id}).raise_for_status()
        survey_id: str = survey.json()["id"]
        client.post(f"/v1/surveys/{survey_id}/publish").raise_for_status()
    return survey_id


def single_body(survey_id: str, score: str = "9") -> str:
    """The body of one partner response; `{n}` (and `{score}`) are filled in by the wrk script."""
    template = json.dumps({"survey_id": survey_id, "external_id": "{n}", "channel": "api", "answers": {"nps": 0}})
    return template.replace('"nps": 0', f'"nps": {score}')


def batch_body(survey_id: str) -> str:
    """A batch of BATCH_SIZE responses; `{n}` (unique per call) makes every external id unique."""
    items = [
        {"survey_id": survey_id, "external_id": f"{{n}}-{i}", "answers": {"nps": i % 11}} for i in range(BATCH_SIZE)
    ]
    return json.dumps({"items": items}, separators=(",", ":"))


def start_floor() -> Server:
    """bench/floor_app.py on a fresh `bench_ingest_floor` database."""
    url = psycopg_url(fresh_database(f"{PREFIX}_floor"))
    command = [sys.executable, "-m", "bench.floor_app", "--port", "{port}"]
    return Server("floor", command, {**os.environ, "FLOOR_DATABASE_URL": url}).start()


def count(url: str, query: str, *params: Any) -> int:
    """The single integer a counting query answers."""
    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        row = connection.execute(query, params).fetchone()  # type: ignore[call-overload]
    return int(row[0]) if row else 0


# ---------------------------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Checked:
    """A wrk run and how it compares with the rows it stored."""

    load: LoadResult
    stored: int  # rows stored by this run
    per_request: int  # rows one successful request stores
    connections: int

    @property
    def consistent(self) -> bool:
        """No errors, and stored = 2xx x rows per request, up to the requests still in flight when wrk stopped."""
        expected = self.load.requests * self.per_request
        return self.load.ok and expected <= self.stored <= expected + self.connections * self.per_request

    def describe(self) -> str:
        """What was counted, for the notes."""
        return (
            f"wrk {self.load.requests} completed ({self.load.errors} errors) x {self.per_request} row(s), "
            f"{self.stored} stored (≤ {self.connections} request(s) may still have been in flight when wrk stopped)"
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_wrk(pid: int, url: str, script: Path, *, connections: int, seconds: float, env: dict[str, str]
              ) -> tuple[LoadResult, float]:  # fmt: skip
    """A wrk run and the server's CPU milliseconds per completed request during it."""
    before = cpu_seconds(pid)
    load = wrk_run(url, script, connections=connections, seconds=seconds, env=env)
    return load, (cpu_seconds(pid) - before) * 1000 / max(1, load.requests)


def wrk_run(url: str, script: Path, *, connections: int, seconds: float, env: dict[str, str]) -> LoadResult:
    """run_wrk (whole seconds: wrk takes no fractions) with the environment the Lua scripts read."""
    return run_wrk(url, script, connections=connections, seconds=max(1, round(seconds)), env=env)


def fmt_ratio(value: float, floor: float) -> tuple[str, float]:
    """The ratio as a percentage string and a number."""
    ratio = value / floor if floor else float("nan")
    return f"{ratio:.0%}", ratio


# ---------------------------------------------------------------------------------------------- 1. single


def single_ingest(report: Report, *, survey: Server, survey_db: str, floor: Server, floor_db: str, seconds: float,
                  bearer: str, survey_id: str) -> dict[str, float]:  # fmt: skip
    """Part 1: rps, p50, p99 of cxloop and of the floor at each connection count; checked against the rows."""
    figures: dict[str, float] = {}
    survey_url = survey.url
    body = single_body(survey_id)
    base = {"BENCH_BODY": body, "BENCH_TOKEN": bearer}
    warm = {**base, "BENCH_PATH": "/v1/responses", "BENCH_RUN": "warm"}
    wrk_run(survey_url, POST_UNIQUE, connections=16, seconds=2, env=warm)
    wrk_run(floor.url, POST_UNIQUE, connections=16, seconds=2, env={**warm, "BENCH_PATH": "/ingest"})
    for connections in SINGLE_CONNECTIONS:
        tag = f"s{connections}-{uuid.uuid4().hex[:6]}"
        env = {**base, "BENCH_RUN": tag}
        floor_load, floor_cpu = timed_wrk(floor.pid, floor.url, POST_UNIQUE, connections=connections,
                                          seconds=seconds, env={**env, "BENCH_PATH": "/ingest"})  # fmt: skip
        ours, our_cpu = timed_wrk(survey.pid, survey_url, POST_UNIQUE, connections=connections, seconds=seconds,
                                  env={**env, "BENCH_PATH": "/v1/responses"})  # fmt: skip
        like = f"{tag}-%"
        stored = count(survey_db, "SELECT count(*) FROM responses WHERE external_id LIKE %s", like)
        floor_stored = count(floor_db, "SELECT count(*) FROM floor_responses WHERE external_id LIKE %s", like)
        checked = Checked(ours, stored, 1, connections)
        floor_checked = Checked(floor_load, floor_stored, 1, connections)
        ratio_text, ratio = fmt_ratio(ours.rps, floor_load.rps)
        met = ratio >= SINGLE_TARGET and checked.consistent
        section = "single ingest"
        report.add(section, f"requests/s, {connections} conn", f"{ours.rps:,.0f}", f"{floor_load.rps:,.0f}",
                   ratio_text, f"≥ {SINGLE_TARGET:.0%}", met=met)  # fmt: skip
        report.add(section, f"p50 ms, {connections} conn", f"{ours.p50_ms:.1f}", f"{floor_load.p50_ms:.1f}",
                   f"{ours.p50_ms / floor_load.p50_ms:.1f}x" if floor_load.p50_ms else "", met=None)  # fmt: skip
        report.add(section, f"p99 ms, {connections} conn", f"{ours.p99_ms:.1f}", f"{floor_load.p99_ms:.1f}",
                   f"{ours.p99_ms / floor_load.p99_ms:.1f}x" if floor_load.p99_ms else "", met=None)  # fmt: skip
        report.add(section, f"server CPU ms/request, {connections} conn", f"{our_cpu:.2f}", f"{floor_cpu:.2f}",
                   f"{our_cpu / floor_cpu:.1f}x" if floor_cpu else "", met=None)  # fmt: skip
        figures[f"single_cpu_ms_c{connections}"] = our_cpu
        for who, run in (("cxloop", checked), ("floor", floor_checked)):
            if not run.consistent:
                report.notes.append(f"single ingest, {connections} conn, {who}: COUNT MISMATCH OR ERRORS: "
                                    f"{run.describe()}")  # fmt: skip
        report.notes.append(f"single ingest, {connections} conn: cxloop {checked.describe()}; "
                            f"floor {floor_checked.describe()}")  # fmt: skip
        figures[f"single_rps_c{connections}"] = ours.rps
        figures[f"single_floor_rps_c{connections}"] = floor_load.rps
        figures[f"single_ratio_c{connections}"] = ratio
        figures[f"single_errors_c{connections}"] = float(ours.errors)
    return figures


# ---------------------------------------------------------------------------------------------- 2. batch


def copy_rows(survey_id: str, start: int) -> Iterator[tuple[Any, ...]]:
    """BATCH_SIZE `responses`-shaped rows, as survey_api would store the items of one batch."""
    now = dt.datetime.now(dt.UTC)
    for i in range(BATCH_SIZE):
        yield (
            "rsp_" + uuid.uuid4().hex, "bench", survey_id, 1, f"copy-{start}-{i}", None, "api", "partner", None,
            None, None, "{}", json.dumps({"nps": i % 11}), True, now, now, None, now, now,
        )  # fmt: skip


def copy_floor(floor_db: str, survey_id: str, seconds: float) -> tuple[int, float]:
    """COPY batches of BATCH_SIZE rows (one transaction each) for about `seconds`; rows copied and seconds."""
    with psycopg.connect(psycopg_url(floor_db)) as connection:
        connection.execute(TABLE_DDL)
        connection.commit()
        started, batches = time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            with connection.cursor() as cursor, cursor.copy(f"COPY floor_responses ({COLUMNS}) FROM STDIN") as copy:
                for row in copy_rows(survey_id, batches):
                    copy.write_row(row)
            connection.commit()
            batches += 1
        elapsed = time.perf_counter() - started
    stored = count(floor_db, "SELECT count(*) FROM floor_responses WHERE external_id LIKE %s", "copy-%")
    assert stored == batches * BATCH_SIZE, (stored, batches)
    return stored, elapsed


def batch_ingest(report: Report, *, survey_url: str, survey_db: str, floor_db: str, seconds: float, bearer: str,
                 survey_id: str) -> dict[str, float]:  # fmt: skip
    """Part 2: responses/s through `POST /v1/responses/batch` (one connection) against COPY."""
    tag = f"b-{uuid.uuid4().hex[:6]}"
    env = {"BENCH_BODY": batch_body(survey_id), "BENCH_TOKEN": bearer, "BENCH_PATH": "/v1/responses/batch"}
    wrk_run(survey_url, POST_UNIQUE, connections=1, seconds=2, env={**env, "BENCH_RUN": "warm-b"})
    load = wrk_run(survey_url, POST_UNIQUE, connections=1, seconds=seconds, env={**env, "BENCH_RUN": tag})
    stored = count(survey_db, "SELECT count(*) FROM responses WHERE external_id LIKE %s", f"{tag}-%")
    checked = Checked(load, stored, BATCH_SIZE, 1)
    copied, copy_seconds = copy_floor(floor_db, survey_id, seconds)
    ours = load.requests * BATCH_SIZE / load.seconds
    floor = copied / copy_seconds
    ratio_text, ratio = fmt_ratio(ours, floor)
    met = ratio >= BATCH_TARGET and checked.consistent
    report.add("batch ingest", f"responses/s, {BATCH_SIZE} a call", f"{ours:,.0f}", f"{floor:,.0f}", ratio_text,
               f"≥ {BATCH_TARGET:.0%} of COPY", met=met)  # fmt: skip
    copy_ms = copy_seconds / (copied / BATCH_SIZE) * 1000
    report.add("batch ingest", "p50 ms a call (floor: mean)", f"{load.p50_ms:.0f}", f"{copy_ms:.0f}", met=None)
    if not checked.consistent:
        report.notes.append(f"batch ingest: COUNT MISMATCH OR ERRORS: {checked.describe()}")
    report.notes.append(f"batch ingest: {checked.describe()}; COPY floor {copied} rows in {copy_seconds:.1f} s")
    return {"batch_rps": ours, "batch_floor_rps": floor, "batch_ratio": ratio}


# ---------------------------------------------------------------------------------------------- 4. loop lag


def rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Every row a query answers."""
    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        return list(connection.execute(query, params).fetchall())  # type: ignore[call-overload]


def wait_until(done: Any, seconds: float) -> float:
    """Poll `done()` every 0.25 s until it is true or `seconds` pass; the seconds waited."""
    started = time.monotonic()
    while not done() and time.monotonic() - started < seconds:
        time.sleep(0.25)
    return time.monotonic() - started


def lags(stack: Stack, tag: str) -> tuple[list[float], list[float], int, int]:
    """Per response: seconds from accepted to metrics' inbox, and (detractors) to a case; and the totals."""
    survey, metrics, loop = (stack.database_urls[s] for s in ("survey", "metrics", "loop"))
    events = rows(survey, "SELECT o.id, o.occurred_at FROM outbox o JOIN responses r ON r.id = o.payload->'data'->>"
                  "'response_id' WHERE r.external_id LIKE %s", f"{tag}-%")  # fmt: skip
    received = dict(rows(metrics, "SELECT event_id, received_at FROM inbox"))
    metric_lags = [(received[i] - at).total_seconds() for i, at in events if i in received]
    responses = rows(survey, "SELECT id, created_at FROM responses WHERE external_id LIKE %s "
                     "AND (answers->>'nps')::int <= 6", f"{tag}-%")  # fmt: skip
    opened = dict(rows(loop, "SELECT response_id, created_at FROM cases"))
    case_lags = [(opened[i] - at).total_seconds() for i, at in responses if i in opened]
    return metric_lags, case_lags, len(events), len(responses)


def loop_lag(report: Report, *, stack: Stack, seconds: float, bearer: str, survey_id: str) -> dict[str, float]:
    """Part 4: the single-ingest load (every score in turn) with metrics and loop consuming survey's outbox."""
    tag = f"lag-{uuid.uuid4().hex[:6]}"
    env = {"BENCH_BODY": single_body(survey_id, "{score}"), "BENCH_TOKEN": bearer, "BENCH_PATH": "/v1/responses"}
    load = wrk_run(stack.url("survey"), POST_UNIQUE, connections=LAG_CONNECTIONS, seconds=seconds,
                   env={**env, "BENCH_RUN": tag})  # fmt: skip

    def arrived() -> bool:
        metric_lags, case_lags, events, detractors = lags(stack, tag)
        return len(metric_lags) >= events and len(case_lags) >= detractors

    time.sleep(1.0)  # the requests wrk left in flight finish (their responses count: they are stored)
    waited = wait_until(arrived, ARRIVAL_TIMEOUT_SECONDS)
    metric_lags, case_lags, events, detractors = lags(stack, tag)
    stored = count(
        stack.database_urls["survey"], "SELECT count(*) FROM responses WHERE external_id LIKE %s", f"{tag}-%"
    )
    retried = count(
        stack.database_urls["survey"], "SELECT count(*) FROM outbox WHERE attempts > 1 AND (payload->'data'->>"
        "'response_id') IN (SELECT id FROM responses WHERE external_id LIKE %s)", f"{tag}-%"
    )  # fmt: skip
    checked = Checked(load, stored, 1, LAG_CONNECTIONS)
    section = "loop lag"
    report.add(section, f"ingest requests/s, {LAG_CONNECTIONS} conn, all services", f"{load.rps:,.0f}",
               met=None if checked.consistent else False)  # fmt: skip
    report.add(section, "events delivered only on a retry", str(retried), met=None)
    figures = {"lag_rps": load.rps, "lag_retried": float(retried)}
    for name, values, total in (("accepted → metrics", metric_lags, events), ("detractor → case open", case_lags,
                                                                             detractors)):  # fmt: skip
        p50, p99 = percentile(values, 50), percentile(values, 99)
        complete = len(values) == total
        report.add(section, f"{name} p50 s", f"{p50:.2f}", met=None)
        report.add(section, f"{name} p99 s", f"{p99:.2f}", target=f"< {LAG_TARGET_SECONDS:.0f} s",
                   met=p99 < LAG_TARGET_SECONDS and complete)  # fmt: skip
        report.add(section, f"{name} arrived", f"{len(values)} / {total}", met=complete)
        key = "metrics" if "metrics" in name else "case"
        figures |= {f"lag_{key}_p50": p50, f"lag_{key}_p99": p99, f"lag_{key}_arrived": float(len(values))}
    report.notes.append(
        f"loop lag: {checked.describe()}; waited {waited:.1f} s (at most {ARRIVAL_TIMEOUT_SECONDS:.0f}) after the "
        "load for every event to arrive. accepted → metrics = metrics `inbox.received_at` (metrics' clock, when "
        "its consumer inserts the event id, in the transaction that applies it) minus survey `outbox.occurred_at` "
        "(survey's clock, when the request built the event, just before its commit). detractor → case = loop "
        "`cases.created_at` minus survey `responses.created_at` (request time). One machine, one clock; nps ≤ 6 "
        "opens a case (the default rule)."
    )
    return figures


# ---------------------------------------------------------------------------------------------- findings

FINDINGS = "what was profiled and changed, with before/after figures, and what stands in the way: bench/PROFILE.md"


# ---------------------------------------------------------------------------------------------- the run


@contextmanager
def running(*servers: Server) -> Iterator[None]:
    """Stop the servers however the block ends."""
    try:
        yield
    finally:
        for server in servers:
            server.stop()


def memory_row(report: Report, name: str, server: Server) -> float:
    """Add one peak-RSS row; the figure."""
    peak = server.peak_rss_mib()
    report.add("memory", f"peak RSS {name}", f"{peak:.0f} MiB", met=None)
    return peak


def run(report: Report, *, seconds: float = 8.0) -> dict[str, float]:
    """Parts 1, 2 and 4 of issue 8 (about `7 * seconds + 90` s with start-up); every figure in `report`."""
    bearer = token(SCOPES)
    figures: dict[str, float] = {}
    floor = start_floor()
    floor_db = floor.env["FLOOR_DATABASE_URL"]
    stack = Stack.start(prefix=PREFIX, only=("survey",), CXLOOP_BACKGROUND_TASKS="false")
    memory: dict[str, Server] = {}
    with running(floor, *stack.servers.values()):
        survey_id = publish_survey(stack.url("survey"), bearer)
        survey, survey_db = stack.servers["survey"], stack.database_urls["survey"]
        figures |= single_ingest(report, survey=survey, survey_db=survey_db, floor=floor, floor_db=floor_db,
                                 seconds=seconds, bearer=bearer, survey_id=survey_id)  # fmt: skip
        figures |= batch_ingest(report, survey_url=survey.url, survey_db=survey_db, floor_db=floor_db,
                                seconds=seconds, bearer=bearer, survey_id=survey_id)  # fmt: skip
        figures["rss_survey_ingest"] = memory_row(report, "survey_api (single + batch ingest)", stack.servers["survey"])
        figures["rss_floor"] = memory_row(report, "floor app", floor)
    report.notes.append(
        "single/batch ingest: survey_api alone, its outbox dispatcher off (CXLOOP_BACKGROUND_TASKS=false) so the "
        "figures are the write path (the outbox row is written, not delivered); the floor is bench/floor_app.py "
        "(Starlette, json.loads, one autocommit INSERT into a responses-shaped table, 10 pooled psycopg "
        "connections, uvicorn as cxloop serve runs it). Batch floor: psycopg COPY of 1,000 rows a transaction, "
        "from the benchmark process."
    )
    stack = Stack.start(prefix=PREFIX)
    report.notes.append(FINDINGS)
    with running(*stack.servers.values()):
        survey_id = publish_survey(stack.url("survey"), bearer)
        figures |= loop_lag(report, stack=stack, seconds=seconds * 2, bearer=bearer, survey_id=survey_id)
        memory = stack.servers
        for short in ("survey", "metrics", "loop"):
            figures[f"rss_{short}_lag"] = memory_row(report, f"{short}_api (loop lag run)", memory[short])
    return figures


def main() -> None:
    """Run the ingest benchmarks alone and print the markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    report = Report()
    run(report, seconds=args.seconds)
    print(report.markdown())


if __name__ == "__main__":
    main()
