"""Metrics at scale: scorecards and `GET /v1/metrics/nps` over 1 M and 10 M responses, against raw SQL.

For each size the responses of `bench.facts_bulk` are bulk-loaded (COPY, then the project's own rollup recount)
into `bench_metrics_scale_<size>`, unless that database already holds exactly this generator version, size,
end day and metrics_api schema (a marker table says so, and the notes say which). A real `cxloop serve metrics`
process answers sequential requests from this process (p50/p99). The floor of each question is the same
question as one raw SQL aggregate over the facts (psycopg, warm, p50 of a few runs). Every answer is checked
against its floor's numbers, and the SQL the service runs for each question is captured in-process and EXPLAINed.

    .venv/bin/python -m bench.metrics_scale [--sizes 1000000,10000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import psycopg
from sqlalchemy import event

from bench import facts_bulk
from bench.harness import (
    SECRET,
    Report,
    database_exists,
    database_url,
    free_port,
    fresh_database,
    percentile,
    psycopg_url,
    service,
    token,
)
from cxloop.migrations import upgrade
from services.metrics_api.period import today

SECTION = "metrics at scale"
MARKER = "bench_scale_marker"
BIG_TABLES = (
    "score_facts",
    "reason_facts",
    "response_state",
    "rollup_kind",
    "rollup_question",
    "rollup_response",
    "rollup_reason",
    "rollup_reason_score",
)
SLOW_BUDGET_S = 20.0  # a slow question gets fewer requests: about this many seconds of them
FLOOR_RUNS = 3
SCORECARD_P99_MS = 50.0
SCORECARD_SPEEDUP = 20.0
ATTR_WITHIN = 2.0
REASONS_P99_MS = 50.0
DRIVERS_P50_MS = 500.0
DRIVER_ATTRIBUTES = ("csat", "staff", "speed", "tidy")  # the store visit's rated attributes, in survey order


# ---- loading ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """A loaded bench database: its URL, whether this run loaded it, and how long loading took."""

    url: str
    fresh: bool
    facts_s: float
    rollups_s: float
    end: dt.datetime
    counts: dict[str, int]


def _marker(url: str) -> dict[str, Any] | None:
    """What the marker table of a bench database says it holds (None: no marker)."""
    with psycopg.connect(psycopg_url(url)) as connection:
        exists = connection.execute("SELECT to_regclass(%s)", (MARKER,)).fetchone()
        if exists is None or exists[0] is None:
            return None
        row = connection.execute(f"SELECT data FROM {MARKER}").fetchone()  # noqa: S608 - a constant name
        return None if row is None else dict(row[0])


def _write_marker(url: str, data: dict[str, Any]) -> None:
    with psycopg.connect(psycopg_url(url)) as connection:
        connection.execute(f"CREATE TABLE {MARKER} (data jsonb NOT NULL)")
        connection.execute(f"INSERT INTO {MARKER} VALUES (%s)", (json.dumps(data),))  # noqa: S608


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(psycopg_url(url)) as connection:
        return {
            name: int(connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0])  # type: ignore[index]  # noqa: S608
            for name in BIG_TABLES
        }


def _head() -> str:
    """metrics_api's newest migration: a bench database loaded under an older schema is reloaded."""
    from alembic.script import ScriptDirectory

    from cxloop.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config("metrics_api", "sqlite://")).get_current_head()
    return str(head)


def load(size: int, *, workers: int) -> Loaded:
    """The bench database of `size` responses ending now: reused when its marker matches, else loaded."""
    name = f"bench_metrics_scale_{size}"
    end = facts_bulk.bench_end()
    today_here = end.astimezone(facts_bulk.ZONE).date().isoformat()
    if database_exists(name):
        held = _marker(database_url(name))
        wanted = {"version": facts_bulk.GENERATOR_VERSION, "size": size, "end_day": today_here, "schema": _head()}
        if held is not None and all(held.get(k) == v for k, v in wanted.items()):
            url = database_url(name)
            ended = dt.datetime.fromisoformat(held["end"])
            return Loaded(url, False, held["facts_s"], held["rollups_s"], ended, held["counts"])
    url = fresh_database(name)
    upgrade("metrics_api", url)
    times = asyncio.run(facts_bulk.bulk_load(url, size, end=end, workers=workers))
    counts = _counts(url)
    marker = {"version": facts_bulk.GENERATOR_VERSION, "size": size, "end_day": today_here, "schema": _head()}
    marker["end"] = end.isoformat()
    _write_marker(url, marker | {"facts_s": times.facts, "rollups_s": times.rollups, "counts": counts})
    return Loaded(url, True, times.facts, times.rollups, end, counts)


# ---- the questions ----------------------------------------------------------------------------------------


@dataclass
class Question:
    """One question: the request cxloop answers, the raw SQL of its floor, and how to compare their answers."""

    name: str
    path: str
    params: dict[str, str]
    floor_sql: list[tuple[str, tuple[Any, ...]]]
    check: Callable[[dict[str, Any], list[list[tuple[Any, ...]]]], None]
    kind: str  # "scorecard", "rollup", "attr", "reasons" or "drivers": which target applies
    timings_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)


NPS_COUNTS = "count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score <= 6), count(*)"
SUBTREE = "(unit = %s OR unit LIKE %s)"


def _nps_sql(where: str, group: str = "") -> str:
    select_key = f"{group} AS key, " if group else ""
    grouping = f" GROUP BY {group}" if group else ""
    return (
        f"SELECT {select_key}{NPS_COUNTS} FROM score_facts"  # noqa: S608 - constant fragments
        f" WHERE org = %s AND kind = 'nps' AND day BETWEEN %s AND %s{where}{grouping}"
    )


def _same_nps(answer: dict[str, Any], promoters: int, detractors: int, n: int, label: str) -> None:
    """The API's NPS counts and value equal the raw SQL's; a mismatch fails the benchmark."""
    got = (answer["promoters"], answer["detractors"], answer["n"])
    if got != (promoters, detractors, n):
        raise AssertionError(f"{label}: API counts {got} != raw SQL {(promoters, detractors, n)}")
    value = answer["value"]
    expected = 100.0 * (promoters - detractors) / n if n else None
    if (value is None) != (expected is None) or (value is not None and abs(value - expected) > 1e-9):
        raise AssertionError(f"{label}: API NPS {value} != raw SQL {expected}")


def _check_total(label: str) -> Callable[[dict[str, Any], list[list[tuple[Any, ...]]]], None]:
    def check(answer: dict[str, Any], results: list[list[tuple[Any, ...]]]) -> None:
        promoters, detractors, n = results[0][0]
        _same_nps(answer, promoters, detractors, n, label)

    return check


def _check_groups(answer: dict[str, Any], results: list[list[tuple[Any, ...]]]) -> None:
    raw = {key: (p, d, n) for key, p, d, n in results[0] if key}
    got = {group["key"]: group for group in answer["groups"]}
    if set(got) != set(raw):
        raise AssertionError(f"grouped by unit: API groups {sorted(got)} != raw SQL {sorted(raw)}")
    for key, (p, d, n) in raw.items():
        _same_nps(got[key], p, d, n, f"group {key}")


def _scorecard_sql(org: str, unit: str | None, first: dt.date, current: dt.date, last: dt.date) -> list[Any]:
    """The scorecard as raw SQL over the facts: histograms per kind/day/scale over the whole window (current,
    previous, 12 weeks of trend), the distinct responses and the top reasons of the current period."""
    where, args = "", cast(tuple[str, ...], ())
    if unit:
        where, args = f" AND {SUBTREE}", (unit, unit + "/%")
    histograms = (
        "SELECT kind, day, scale_min, scale_max, score, count(*) FROM score_facts"  # noqa: S608
        f" WHERE org = %s AND kind IN ('nps', 'csat', 'ces') AND day BETWEEN %s AND %s{where}"
        " GROUP BY 1, 2, 3, 4, 5"
    )
    responses = (
        "SELECT count(DISTINCT response_id) FROM score_facts"  # noqa: S608
        f" WHERE org = %s AND day BETWEEN %s AND %s{where}"
    )
    reasons = (
        "SELECT code, count(*) FROM reason_facts"  # noqa: S608
        f" WHERE org = %s AND day BETWEEN %s AND %s{where} GROUP BY code ORDER BY 2 DESC, code LIMIT 5"
    )
    return [
        (histograms, (org, first, last, *args)),
        (responses, (org, current, last, *args)),
        (reasons, (org, current, last, *args)),
    ]


def _check_scorecard(current: dt.date) -> Callable[[dict[str, Any], list[list[tuple[Any, ...]]]], None]:
    def check(card: dict[str, Any], results: list[list[tuple[Any, ...]]]) -> None:
        histograms, responses, reasons = results
        nps = [(score, n) for kind, day, _, _, score, n in histograms if kind == "nps" and day >= current]
        promoters = sum(n for score, n in nps if score >= 9)
        detractors = sum(n for score, n in nps if score <= 6)
        total = sum(n for _, n in nps)
        expected = 100.0 * (promoters - detractors) / total if total else None
        got = card["nps"]
        if got["n"] != total or (got["value"] is not None and abs(got["value"] - (expected or 0)) > 1e-9):
            raise AssertionError(f"scorecard NPS {got['value']} (n {got['n']}) != raw SQL {expected} (n {total})")
        if card["responses"] != responses[0][0]:
            raise AssertionError(f"scorecard responses {card['responses']} != raw SQL {responses[0][0]}")
        if [(r["code"], r["count"]) for r in card["top_reasons"]] != [tuple(r) for r in reasons]:
            raise AssertionError(f"scorecard top reasons {card['top_reasons']} != raw SQL {reasons}")
        if card["degraded"]:  # loop_api runs beside it: its case figures must be in every timed answer
            raise AssertionError(f"scorecard degraded: {card['degraded']}")

    return check


REASONS_SQL = (
    "SELECT r.code, count(*), count(*) FILTER (WHERE s.score >= 9), count(*) FILTER (WHERE s.score <= 6)"
    " FROM reason_facts r JOIN score_facts s ON s.response_id = r.response_id AND s.kind = 'nps'"
    " WHERE r.org = %s AND r.survey_id = %s AND r.question = 'reasons' AND r.day BETWEEN %s AND %s GROUP BY r.code"
)


def _reasons_floor(org: str, survey_id: str, first: dt.date, last: dt.date) -> list[tuple[str, tuple[Any, ...]]]:
    """Per reason code: citing respondents with an NPS answer, their promoters and detractors; and the NPS n."""
    nps = _nps_sql(" AND survey_id = %s")
    return [(REASONS_SQL, (org, survey_id, first, last)), (nps, (org, first, last, survey_id))]


def _check_reasons(answer: dict[str, Any], results: list[list[tuple[Any, ...]]]) -> None:
    (promoters, detractors, n) = results[1][0]
    nps = 100.0 * (promoters - detractors) / n
    if answer["n"] != n or abs(answer["nps"] - nps) > 1e-9:
        raise AssertionError(f"reasons: API n {answer['n']}, NPS {answer['nps']} != raw SQL {n}, {nps}")
    raw = {code: (count, p, d) for code, count, p, d in results[0]}
    got = {item["code"]: item for item in answer["items"]}
    if set(got) != set(raw):
        raise AssertionError(f"reasons: API codes {sorted(got)} != raw SQL {sorted(raw)}")
    for code, (count, p, d) in raw.items():
        with_ = 100.0 * (p - d) / count
        if got[code]["count"] != count or abs(got[code]["nps_with"] - with_) > 1e-9:
            raise AssertionError(f"reasons {code}: API {got[code]} != raw SQL count {count}, NPS with {with_}")


def _drivers_floor(org: str, first: dt.date, last: dt.date) -> list[tuple[str, tuple[Any, ...]]]:
    """The per-response score vectors of the store visit (NPS and every attribute answered), and in SQL their
    count, each attribute's Pearson correlation with NPS and its mean."""
    keys = ("nps", *DRIVER_ATTRIBUTES)
    pivot = ", ".join(f"max(score) FILTER (WHERE question = '{key}') AS {key}" for key in keys)
    answered = " AND ".join(f"{key} IS NOT NULL" for key in keys)
    figures = ", ".join(f"corr(nps, {key}), avg({key})" for key in DRIVER_ATTRIBUTES)
    sql = (
        f"SELECT count(*), {figures} FROM (SELECT {pivot} FROM score_facts"  # noqa: S608 - constant fragments
        " WHERE org = %s AND survey_id = 'srv_store_visit' AND day BETWEEN %s AND %s GROUP BY response_id) v"
        f" WHERE {answered}"
    )
    return [(sql, (org, first, last))]


def _check_drivers(answer: dict[str, Any], results: list[list[tuple[Any, ...]]]) -> None:
    n, *figures = results[0][0]
    if answer["n"] != n or answer["method"] != "relative_weights":
        raise AssertionError(f"drivers: API n {answer['n']} ({answer['method']}) != raw SQL {n}")
    got = {driver["question"]: driver for driver in answer["drivers"]}
    if abs(sum(driver["weight_pct"] for driver in got.values()) - 100.0) > 1e-6:
        raise AssertionError(f"drivers: weights add up to {sum(d['weight_pct'] for d in got.values())}, not 100")
    for key, correlation, mean in zip(DRIVER_ATTRIBUTES, figures[0::2], figures[1::2], strict=True):
        if abs(got[key]["correlation"] - correlation) > 1e-6 or abs(got[key]["mean"] - float(mean)) > 1e-6:
            raise AssertionError(f"drivers {key}: API {got[key]} != raw SQL corr {correlation}, mean {mean}")


def questions(org: str, day: dt.date) -> list[Question]:
    """The questions timed at every size, as of `day` (today in the org's time zone)."""
    year, quarter = day - dt.timedelta(days=364), day - dt.timedelta(days=89)
    week = day - dt.timedelta(days=day.weekday())
    scorecard_first = min(day - dt.timedelta(days=59), week - dt.timedelta(weeks=11))
    current = day - dt.timedelta(days=29)
    drivers_first = day - dt.timedelta(days=129)
    unit = "emea"
    return [
        Question(
            "scorecard, whole org (30 days)",
            "/v1/scorecards",
            {},
            _scorecard_sql(org, None, scorecard_first, current, day),
            _check_scorecard(current),
            "scorecard",
        ),
        Question(
            f"scorecard, unit {unit} (30 days)",
            f"/v1/scorecards/{unit}",
            {},
            _scorecard_sql(org, unit, scorecard_first, current, day),
            _check_scorecard(current),
            "scorecard",
        ),
        Question(
            "nps, whole org, one year",
            "/v1/metrics/nps",
            {"from": year.isoformat(), "to": day.isoformat()},
            [(_nps_sql(""), (org, year, day))],
            _check_total("whole org, one year"),
            "rollup",
        ),
        Question(
            f"nps, unit subtree {unit}, 90 days",
            "/v1/metrics/nps",
            {"unit": unit, "from": quarter.isoformat(), "to": day.isoformat()},
            [(_nps_sql(f" AND {SUBTREE}"), (org, quarter, day, unit, unit + "/%"))],
            _check_total("unit subtree, 90 days"),
            "rollup",
        ),
        Question(
            "nps, grouped by unit (regions), one year",
            "/v1/metrics/nps",
            {"group_by": "unit", "from": year.isoformat(), "to": day.isoformat()},
            [(_nps_sql("", "split_part(unit, '/', 1)"), (org, year, day))],
            _check_groups,
            "rollup",
        ),
        Question(
            "nps, attr.tier=gold, whole org, 90 days",
            "/v1/metrics/nps",
            {"attr.tier": "gold", "from": quarter.isoformat(), "to": day.isoformat()},
            [(_nps_sql(" AND attributes ->> 'tier' = %s"), (org, quarter, day, "gold"))],
            _check_total("attr.tier=gold, 90 days"),
            "attr",
        ),
        Question(
            "reasons (NPS+), relationship survey, 90 days",
            "/v1/reasons",
            {
                "survey_id": "srv_relationship",
                "question": "reasons",
                "from": quarter.isoformat(),
                "to": day.isoformat(),
            },
            _reasons_floor(org, "srv_relationship", quarter, day),
            _check_reasons,
            "reasons",
        ),
        Question(
            "drivers of NPS, store visits, 130 days (~1 M responses at 10 M)",
            "/v1/drivers",
            {
                "survey_id": "srv_store_visit",
                "outcome": "nps",
                "from": drivers_first.isoformat(),
                "to": day.isoformat(),
            },
            _drivers_floor(org, drivers_first, day),
            _check_drivers,
            "drivers",
        ),
    ]


# ---- measuring --------------------------------------------------------------------------------------------


def _floor(url: str, question: Question) -> list[list[tuple[Any, ...]]]:
    """Time the raw SQL (one warm-up, then FLOOR_RUNS runs, each all its statements); its last results."""
    results: list[list[tuple[Any, ...]]] = []
    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        for run in range(FLOOR_RUNS + 1):
            began = time.perf_counter()
            results = [connection.execute(sql, args).fetchall() for sql, args in question.floor_sql]  # type: ignore[arg-type]
            if run:
                question.floor_ms.append((time.perf_counter() - began) * 1000)
    return results


def _time(client: httpx.Client, question: Question, requests: int) -> dict[str, Any]:
    """Sequential requests (after two warm-ups); the last answer."""
    answer: dict[str, Any] = {}
    for _ in range(2):
        response = client.get(question.path, params=question.params)
        response.raise_for_status()
        answer = response.json()
    began = time.perf_counter()
    response = client.get(question.path, params=question.params)
    first_s = time.perf_counter() - began
    count = max(10, min(requests, int(SLOW_BUDGET_S / max(first_s, 1e-4))))
    for _ in range(count):
        began = time.perf_counter()
        response = client.get(question.path, params=question.params)
        question.timings_ms.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return answer


# ---- EXPLAIN of the service's own SQL -------------------------------------------------------------------


async def _captured(url: str, question: Question, bearer: str) -> list[tuple[str, Any]]:
    """The SQL statements (and parameters) metrics_api runs to answer `question`, captured in-process."""
    from services.metrics_api.main import create_app
    from services.metrics_api.settings import MetricsSettings

    settings = MetricsSettings(database_url=url, jwt_secret=SECRET, env="test")
    app = create_app(settings)
    statements: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", remember)
    try:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {bearer}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://metrics", headers=headers) as client:
            response = await client.get(question.path, params=question.params)
            response.raise_for_status()
    finally:
        await app.state.db.dispose()
    return statements


def _scans(plan: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(node type, relation, index) of every scan node of a JSON plan."""
    found = []
    if "Relation Name" in plan or "Index Name" in plan:
        found.append((plan["Node Type"], plan.get("Relation Name", ""), plan.get("Index Name")))
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


def explain(url: str, question: Question, bearer: str) -> bool:
    """EXPLAIN every statement the service ran on a big table; whether each of those reads through an index."""
    statements = asyncio.run(_captured(url, question, bearer))
    every_indexed = True
    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        for statement, parameters in statements:
            if not any(table in statement for table in BIG_TABLES):
                continue
            row = connection.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters).fetchone()
            assert row is not None
            scans = _scans(row[0][0]["Plan"])
            big = [s for s in scans if s[1] in BIG_TABLES or (s[2] or "").startswith(("ix_", "pk_"))]
            # a Bitmap Heap Scan reads the rows its Bitmap Index Scans found: only a Seq Scan reads without one
            indexed = bool(big) and not any(node == "Seq Scan" for node, _, _ in big)
            every_indexed &= indexed
            shown = ", ".join(f"{node} {index or rel}" for node, rel, index in big)
            question.plans.append(shown or "no scan of a big table")
    return every_indexed


# ---- the benchmark ----------------------------------------------------------------------------------------


def _label(size: int) -> str:
    return f"{size // 1_000_000} M" if size % 1_000_000 == 0 else f"{size:,}"


def _report(report: Report, size: int, question: Question, indexed: bool) -> None:
    """One row per question: p50/p99 against the floor's p50, the target checked at 10 M."""
    p50, p99 = percentile(question.timings_ms, 50), percentile(question.timings_ms, 99)
    floor = percentile(question.floor_ms, 50)
    section = f"{SECTION} ({_label(size)})"
    value = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (n={len(question.timings_ms)})"
    floor_text = f"raw SQL p50 {floor:.1f} ms"
    judged = size >= 10_000_000
    if question.kind == "attr":
        # An attribute filter scans facts with one aggregate, like its floor: the target is the ratio. Whether
        # the plan reads through an index depends on how many rows the period covers (see the EXPLAIN note).
        ratio = p50 / floor
        report.add(section, question.name, value, floor_text, f"{ratio:.2f}x the raw SQL", "≤ 2x raw SQL",
                   met=ratio <= ATTR_WITHIN if judged else None)  # fmt: skip
        return
    speedup = floor / p50
    if question.kind == "scorecard":
        target = f"p99 < {SCORECARD_P99_MS:.0f} ms, ≥ {SCORECARD_SPEEDUP:.0f}x raw, index"
        met = p99 < SCORECARD_P99_MS and speedup >= SCORECARD_SPEEDUP and indexed
    elif question.kind == "reasons":
        target = f"p99 < {REASONS_P99_MS:.0f} ms from rollups, index"
        met = p99 < REASONS_P99_MS and indexed
    elif question.kind == "drivers":
        # The floor computes the correlations only (in SQL); the service also solves the relative weights and
        # bootstraps their intervals: the target is the time.
        target = f"p50 < {DRIVERS_P50_MS:.0f} ms"
        met = p50 < DRIVERS_P50_MS
    else:
        target = "index used"
        met = indexed
    shown = f"{speedup:.0f}x faster than raw" if speedup >= 10 else f"{speedup:.2f}x as fast as raw"
    report.add(section, question.name, value, floor_text, shown, target,
               met=met if judged else None)  # fmt: skip


def run_size(report: Report, size: int, *, requests: int, workers: int) -> None:
    """Load (or reuse) `size` responses, serve them, time and check every question, EXPLAIN the service's SQL."""
    began = time.perf_counter()
    loaded = load(size, workers=workers)
    label = _label(size)
    if loaded.fresh:
        total = loaded.facts_s + loaded.rollups_s
        rate = size / total
        report.add(f"{SECTION} ({label})", "bulk load (this run)", f"{total:.0f} s ({rate:,.0f} responses/s)",
                   target="context")  # fmt: skip
    counts = ", ".join(f"{name} {n:,}" for name, n in loaded.counts.items())
    how = "loaded in this run" if loaded.fresh else "reused from an earlier run (same generator version, size, day)"
    report.notes.append(
        f"{label}: {how}; loading took {loaded.facts_s:.0f} s for facts (COPY, indexes rebuilt, ANALYZE) and "
        f"{loaded.rollups_s:.0f} s for rollups ({size / (loaded.facts_s + loaded.rollups_s):,.0f} responses/s); "
        f"rows: {counts}."
    )
    bearer = token(["metrics:read"])
    # loop_api runs beside it (on an empty database): a scorecard asks it for its case figures, as in production.
    loop_db = fresh_database("bench_metrics_scale_loop")
    upgrade("loop_api", loop_db)
    ports = {"metrics": free_port(), "loop": free_port()}
    loop = service("loop", {"loop": loop_db}, ports).start()
    server = service("metrics", {"metrics": loaded.url, "loop": loop_db}, ports).start()
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {bearer}"}, timeout=120) as client:
            day = today(facts_bulk.ZONE)
            for question in questions(facts_bulk.ORG, day):
                answer = _time(client, question, requests)
                results = _floor(loaded.url, question)
                question.check(answer, results)
                indexed = explain(loaded.url, question, bearer)
                _report(report, size, question, indexed)
                report.notes.append(f"{label} EXPLAIN, {question.name}: " + "; ".join(question.plans))
    finally:
        server.stop()
        loop.stop()
    report.notes.append(f"{label}: the whole size took {time.perf_counter() - began:.0f} s.")


def run(report: Report, *, sizes: tuple[int, ...] = (1_000_000, 10_000_000), requests: int = 200) -> None:
    """Metrics at scale for each size (see the module docstring); rows and notes go to `report`."""
    workers = max(1, min(2, os.cpu_count() or 1))
    report.notes.append(
        "metrics at scale: sequential requests from one client over loopback to `cxloop serve metrics`; "
        "the floor is the same question as raw SQL over the facts (psycopg, warm, p50 of "
        f"{FLOOR_RUNS}); ratios compare p50s; each answer was checked equal to its raw SQL's numbers."
    )
    for size in sizes:
        run_size(report, size, requests=requests, workers=workers)


def main() -> None:
    """`python -m bench.metrics_scale [--sizes 1000000,10000000] [--requests 200]`: print the markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated response counts")
    parser.add_argument("--requests", type=int, default=200, help="requests per fast question")
    options = parser.parse_args()
    report = Report()
    sizes = tuple(int(s) for s in options.sizes.split(","))
    run(report, sizes=sizes, requests=options.requests)
    print(report.markdown())


if __name__ == "__main__":
    main()
