"""What every benchmark shares: fresh PostgreSQL databases, real service processes, wrk pinned to one core,
peak memory, and the results table (every figure a ratio against a floor measured in the same run).

The load generator is wrk (Debian's package) with a Lua script, run as its own process pinned to the last CPU
(`taskset -c`); the servers and PostgreSQL are not pinned, exactly as for the floors they are compared with.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from cxloop import supervisor
from shared.auth import mint_token
from shared.settings import CommonSettings

ORG = "bench"
SECRET = "bench-secret-for-cxloop-benchmarks-0123456789"  # noqa: S105 - local throwaway servers
ADMIN_URL = os.environ.get("CXLOOP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
LOADGEN_CPU = (os.cpu_count() or 1) - 1
BENCH_DIR = Path(__file__).resolve().parent
LOG_DIR = BENCH_DIR / "logs"
SHORT_NAMES = ("survey", "metrics", "loop")


def psycopg_url(url: str) -> str:
    """A libpq connection string for an SQLAlchemy-style PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def fresh_database(name: str) -> str:
    """Drop and create database `name` on the benchmark server; its URL."""
    with psycopg.connect(psycopg_url(ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def database_exists(name: str) -> bool:
    """Whether database `name` exists on the benchmark server."""
    with psycopg.connect(psycopg_url(ADMIN_URL), autocommit=True) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def database_url(name: str) -> str:
    """The URL of database `name` on the benchmark server."""
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def token(scopes: list[str], *, org: str = ORG, units: list[str] | None = None) -> str:
    """A bearer token the benchmark servers accept."""
    return mint_token(CommonSettings(jwt_secret=SECRET), org=org, scopes=scopes, units=units, ttl_seconds=4 * 3600)


def memory_kib(pid: int, field_name: str) -> int:
    """`VmRSS` (now) or `VmHWM` (peak) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field_name} for process {pid}")


def wait_ready(base_url: str, *, seconds: float = 180.0) -> None:
    """Wait until `/readyz` answers 200, or fail saying where the logs are."""
    if not supervisor.wait_ready(base_url, seconds=seconds):
        raise RuntimeError(f"{base_url} did not become ready (see {LOG_DIR})")


@dataclass
class Server:
    """One HTTP server process on loopback (a cxloop service or a floor app), with its log in bench/logs."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        """Start it and wait until `/readyz` answers."""
        LOG_DIR.mkdir(exist_ok=True)
        log = (LOG_DIR / f"{self.name}-{self.port}.log").open("ab")
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        wait_ready(self.url)
        return self

    @property
    def pid(self) -> int:
        """Its process id (the uvicorn process serving requests)."""
        assert self.process is not None
        return self.process.pid

    def peak_rss_mib(self) -> float:
        """Its peak resident memory so far."""
        return memory_kib(self.pid, "VmHWM") / 1024

    def rss_mib(self) -> float:
        """Its resident memory now."""
        return memory_kib(self.pid, "VmRSS") / 1024

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def service_env(database_urls: dict[str, str], ports: dict[str, int], **extra: str) -> dict[str, str]:
    """The environment of a cxloop service process in the benchmark stack."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_DATABASE_URL", "_API_URL"))}
    env.update({f"{s.upper()}_DATABASE_URL": url for s, url in database_urls.items()})
    env.update({f"{s.upper()}_API_URL": f"http://127.0.0.1:{port}" for s, port in ports.items()})
    env.update({"CXLOOP_JWT_SECRET": SECRET, "CXLOOP_ENV": "test", "CXLOOP_LOG_LEVEL": "WARNING"})
    env.update(extra)
    return env


def service(short: str, database_urls: dict[str, str], ports: dict[str, int], **extra: str) -> Server:
    """A `cxloop serve <short>` process (not yet started) on `ports[short]`, wired to the others."""
    command = [sys.executable, "-m", "cxloop", "serve", short, "--port", "{port}"]
    return Server(short, command, service_env(database_urls, ports, **extra), port=ports[short])


@dataclass
class Stack:
    """All three services on their own benchmark databases (`<prefix>_survey`, `<prefix>_metrics`, `<prefix>_loop`)."""

    servers: dict[str, Server] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls, *, prefix: str = "bench", only: tuple[str, ...] = SHORT_NAMES, fresh: bool = True, **extra: str
    ) -> Stack:
        """Migrate fresh databases and start the services named in `only` (all three by default); `extra` is
        added to every service's environment."""
        from cxloop.migrations import upgrade

        stack = cls()
        ports = {short: free_port() for short in SHORT_NAMES}
        for short in SHORT_NAMES:
            name = f"{prefix}_{short}"
            stack.database_urls[short] = fresh_database(name) if fresh else database_url(name)
            if fresh:
                upgrade(f"{short}_api", stack.database_urls[short])
        for short in only:
            stack.servers[short] = service(short, stack.database_urls, ports, **extra).start()
        return stack

    def url(self, short: str) -> str:
        """The base URL of a service."""
        return self.servers[short].url

    def stop(self) -> None:
        """Stop every service."""
        for server in self.servers.values():
            server.stop()


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured: completed requests, their rate, latency percentiles, and errors (non-2xx, socket)."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def ok(self) -> bool:
        """Whether every request succeeded."""
        return self.errors == 0


def require_wrk() -> str:
    """The wrk executable (Debian package `wrk`), or a clear error."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (make bench does this when run as root)")
    return found


def run_wrk(
    url: str, script: Path, *, connections: int, seconds: float, env: dict[str, str] | None = None
) -> LoadResult:
    """Run wrk (one thread, pinned to LOADGEN_CPU) with a Lua script whose `done()` prints one JSON line."""
    command = ["taskset", "-c", str(LOADGEN_CPU), require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s"]
    command += ["--timeout", "10s", "-s", str(script), url]
    completed = subprocess.run(  # noqa: S603
        command, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=True
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    found: dict[str, Any] = json.loads(lines[-1])
    return LoadResult(
        requests=int(found["requests"]),
        seconds=found["seconds"],
        rps=found["requests"] / found["seconds"],
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        errors=int(found["errors"]),
    )


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`, nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass(frozen=True)
class Row:
    """One line of the results table: the project's figure, the floor's, their ratio and the target."""

    section: str
    measure: str
    value: str
    floor: str
    ratio: str
    target: str
    met: bool | None  # None: no target, context only


@dataclass
class Report:
    """The results of one `make bench` run, written as markdown."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, section: str, measure: str, value: str, floor: str = "", ratio: str = "", target: str = "", **kw: Any
    ) -> None:
        """Add one row (and print it, so a long run shows progress)."""
        row = Row(section, measure, value, floor, ratio, target, kw.get("met"))
        self.rows.append(row)
        print(f"  {section} | {measure}: {value}  floor {floor}  ratio {ratio}  target {target}", flush=True)

    def markdown(self) -> str:
        """The table, then the notes."""
        lines = [
            "| section | measure | cxloop | floor | ratio | target | met |",
            "| --- | --- | ---: | ---: | ---: | --- | --- |",
        ]
        for r in self.rows:
            met = "" if r.met is None else ("yes" if r.met else "**no**")
            lines.append(f"| {r.section} | {r.measure} | {r.value} | {r.floor} | {r.ratio} | {r.target} | {met} |")
        return "\n".join(lines + [""] + [f"- {note}" for note in self.notes]) + "\n"
