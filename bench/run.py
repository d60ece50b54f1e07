"""`make bench`: every benchmark against its floor, on this machine's PostgreSQL, into bench/results/<date>.md.

Sections (each can be run alone with `python -m bench.<module>`):
- ingest: single `POST /v1/responses` and batch ingest vs a bare Starlette + psycopg endpoint and `COPY`;
  loop lag (response → metrics, detractor → case) under that load (bench/ingest.py);
- metrics: scorecards and `GET /v1/metrics/nps` on 1 M and 10 M responses vs raw SQL aggregates
  (bench/metrics_scale.py);
- themes: tagging cost at ingest, re-tag comments/s, theme metrics p99 (bench/themes.py);
- memory: a 100,000-response export and 10,000-contact bulk upserts keep the server flat (bench/memory.py);
- webhooks: deliveries/s to a fast local receiver and webhook lag under the single-ingest load (bench/webhooks.py);
- soak (not in the default run; also `make soak`): minutes of mixed load while a random service is SIGKILLed
  every 30 s, then exact checks (bench/soak.py); `--minutes` sets its length (default 10).

    .venv/bin/python -m bench.run [--sections ingest,metrics,memory,themes,webhooks,soak] [--quick] [--minutes 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench.harness import ADMIN_URL, BENCH_DIR, LOADGEN_CPU, Report, psycopg_url, require_wrk

SECTIONS = ("ingest", "metrics", "memory", "themes", "webhooks")
OPTIONAL = ("soak",)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _command_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError:
        return "not found"
    return (done.stdout or done.stderr).splitlines()[0].strip() if (done.stdout or done.stderr) else "unknown"


def machine() -> list[str]:
    """What the figures were measured on."""
    with psycopg.connect(psycopg_url(ADMIN_URL)) as connection:
        row = connection.execute("SHOW server_version").fetchone()
        postgres = row[0] if row else "unknown"
    commit = _command_version(["git", "-C", str(BENCH_DIR.parent), "rev-parse", "--short", "HEAD"])
    return [
        f"CPU: {_cpu_model()}, {os.cpu_count()} cores; memory {_memory_gib():.0f} GiB; {platform.system()} "
        f"{platform.release()}",
        f"PostgreSQL {postgres} (default configuration, same machine); Python {platform.python_version()}; "
        f"{_command_version(['wrk', '--version'])}",
        f"Load generator: wrk, one thread, pinned to CPU {LOADGEN_CPU} with taskset (servers and PostgreSQL "
        "are not pinned, for the project and the floors alike); commit {commit}.".replace("{commit}", commit),
    ]


def _section(name: str, minutes: float = 10.0) -> Callable[[Report, bool], object]:
    """The entry point of a section, with its quick (smoke) settings."""
    if name == "ingest":
        from bench import ingest

        return lambda report, quick: ingest.run(report, seconds=3 if quick else 10)
    if name == "metrics":
        from bench import metrics_scale

        return lambda report, quick: metrics_scale.run(report, sizes=(20_000,) if quick else (1_000_000, 10_000_000))
    if name == "themes":
        from bench import themes

        return lambda report, quick: themes.run(report, size=3_000 if quick else 100_000)
    if name == "memory":
        from bench import memory

        return lambda report, quick: memory.run(report, rows=10_000 if quick else 100_000)
    if name == "webhooks":
        from bench import webhooks

        return lambda report, quick: webhooks.run(report, seconds=3 if quick else 16)
    if name == "soak":
        from bench import soak

        return lambda report, quick: soak.run(report, minutes=1 if quick else minutes)
    raise SystemExit(f"unknown section {name!r}; choose from {', '.join(SECTIONS + OPTIONAL)}")


def main() -> None:
    """Run the sections, print the table, write it to bench/results/<date>.md; exit 1 if a section failed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs: a smoke test, no figures")
    parser.add_argument("--out", type=Path, help="where to write the markdown (default bench/results/<date>.md)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the soak section's load")
    args = parser.parse_args()
    require_wrk()
    names = [s.strip() for s in args.sections.split(",") if s.strip()]
    runners = {name: _section(name, args.minutes) for name in names}
    report, timings, failed = Report(), [], False
    started = time.monotonic()
    for name, runner in runners.items():
        print(f"== {name}", flush=True)
        section_started = time.monotonic()
        try:
            runner(report, args.quick)
        except Exception as exc:  # a failed section is reported, the others still run
            failed = True
            traceback.print_exc()
            report.add(name, "section failed", f"{type(exc).__name__}: {exc}"[:300], met=False)
        timings.append(f"{name} {time.monotonic() - section_started:.0f} s")
    total = time.monotonic() - started
    today = dt.date.today().isoformat()
    lines = [f"# Benchmarks — {today}", "", *[f"- {line}" for line in machine()]]
    lines += [f"- Sections: {', '.join(timings)}; total {total / 60:.1f} min{' (quick: not figures)' * args.quick}."]
    text = "\n".join([*lines, "", report.markdown()])
    out = args.out or BENCH_DIR / "results" / f"{today}{'-quick' if args.quick else ''}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print("\n" + text)
    print(f"written to {out}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
