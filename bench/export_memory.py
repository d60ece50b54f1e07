"""Export memory and speed: stream N responses from a real survey_api process and watch its peak memory.

The export must keep memory flat: the server's peak RSS growth for 100,000 responses should match the
growth for 10,000. The load runs over loopback from this process; the server is `cxloop serve survey`.
Floor: the same rows read with a raw DBAPI cursor (`fetchmany`) and written with `csv` in this process.

    .venv/bin/python -m bench.export_memory [--rows 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from cxloop.migrations import upgrade
from shared.auth import mint_token
from shared.settings import CommonSettings

ORG = "bench"
SECRET = "bench-secret-for-cxloop-benchmarks-0123456789"  # noqa: S105 - a local throwaway server


def _rows(count: int) -> list[tuple[object, ...]]:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [
        (
            f"rsp_{i:026d}", ORG, "srv_1", 1, f"ext-{i}", None, "email", "partner", "en", "emea/de", None,
            json.dumps({"tier": "gold"}), json.dumps({"nps": i % 11, "why": "because " * 5}), True,
            (start + dt.timedelta(seconds=i)).isoformat(), None, None,
            start.isoformat(), start.isoformat(),
        )
        for i in range(count)
    ]  # fmt: skip


INSERT = (
    "INSERT INTO responses (id, org, survey_id, survey_version, external_id, contact_id, channel, source, language,"
    " unit, touchpoint_id, attributes, answers, finished, submitted_at, completed_at, anonymised_at, created_at,"
    " updated_at) VALUES ({})"
)


def seed(url: str, count: int) -> None:
    """Migrate survey_api's database at `url` and fill it with one survey and `count` responses."""
    upgrade("survey_api", url)
    survey = (
        "INSERT INTO surveys (id, org, name, kind, audience, languages, default_language, questions, status, version,"
        " published_version, created_at, updated_at) VALUES ('srv_1', 'bench', 'B', 'relational', 'customers',"
        " '[\"en\"]', 'en', '[]', 'active', 1, 1, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
    )
    if url.startswith("sqlite"):
        with sqlite3.connect(make_url(url).database or "") as connection:
            connection.execute(survey)
            connection.executemany(INSERT.format(",".join("?" * 19)), _rows(count))
        return
    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
        conn.execute(survey)
        with conn.cursor() as cursor:
            cursor.executemany(INSERT.format(",".join(["%s"] * 19)), _rows(count))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def project_export(url: str) -> tuple[float, int, float]:
    """Seconds, bytes, and the server's peak RSS growth (MiB) for one CSV export over loopback."""
    port = _free_port()
    env = {**os.environ, "SURVEY_DATABASE_URL": url, "CXLOOP_JWT_SECRET": SECRET, "CXLOOP_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "cxloop", "serve", "survey", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        token = mint_token(CommonSettings(jwt_secret=SECRET), org=ORG, scopes=["responses:read"])
        headers = {"Authorization": f"Bearer {token}"}
        early = {"to": "2026-01-01T00:00:05+00:00"}  # warm up every code path on a handful of rows
        httpx.get(f"{base}/v1/responses/export", params=early, headers=headers, timeout=60).raise_for_status()
        baseline = _memory_kib(server.pid, "VmRSS")
        started, size = time.perf_counter(), 0
        with httpx.stream("GET", f"{base}/v1/responses/export", headers=headers, timeout=600) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
        seconds = time.perf_counter() - started
        growth = (_memory_kib(server.pid, "VmHWM") - baseline) / 1024
    finally:
        server.terminate()
        server.wait(timeout=30)
    return seconds, size, growth


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("survey_api did not become ready")


def floor_export(url: str) -> int:
    """Bytes of the same rows read with fetchmany and written with csv: what any exporter must at least do."""
    columns = "id, survey_id, external_id, unit, answers, attributes, submitted_at"
    query = f"SELECT {columns} FROM responses WHERE org = 'bench' ORDER BY id"  # noqa: S608 - constant
    size = 0
    if url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(url).database or "")
        cursor = connection.execute(query)
    else:
        connection = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
        cursor = connection.cursor(name="floor")
        cursor.execute(query)
    while rows := cursor.fetchmany(1000):
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        size += len(buffer.getvalue().encode())
    connection.close()
    return size


def measure_floor(url: str) -> tuple[float, int, float]:
    """Seconds, bytes and peak traced MiB of the floor exporter."""
    tracemalloc.start()
    started = time.perf_counter()
    size = floor_export(url)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, size, peak / 2**20


def main() -> None:
    """Seed 10 % and 100 % of the rows, export both ways, print a markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose database will be filled (default: SQLite)")
    args = parser.parse_args()
    print("| rows | exporter | seconds | rows/s | memory growth MiB | bytes |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for count in (args.rows // 10, args.rows):
            url = f"sqlite:///{Path(folder) / f'{count}.db'}" if not args.postgres else args.postgres
            seed(url, count)
            runs = (("floor: fetchmany + csv (traced)", measure_floor), ("cxloop export (server RSS)", project_export))
            for name, run in runs:
                seconds, size, growth = run(url)
                print(f"| {count:,} | {name} | {seconds:.2f} | {count / seconds:,.0f} | {growth:.1f} | {size:,} |")
            if args.postgres:
                break


if __name__ == "__main__":
    main()
