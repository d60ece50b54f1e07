"""Run services: one in this process under uvicorn, or all three as labelled child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any

import httpx
import uvicorn

from cxloop.services import ServiceSpec
from shared.settings import CommonSettings, get_common_settings

READY_TIMEOUT_SECONDS = 120.0
RESTART_LIMIT = 5  # restarts of one service within RESTART_WINDOW_SECONDS before the stack gives up
RESTART_WINDOW_SECONDS = 300.0
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
WORKER_HEALTHCHECK_TIMEOUT = 30  # uvicorn's default of 5 s kills workers that start slowly on a busy machine
_COLOURS = {"survey": "\033[36m", "metrics": "\033[35m", "loop": "\033[33m"}
_RESET = "\033[0m"
_print_lock = threading.Lock()


def serve_one(
    spec: ServiceSpec,
    *,
    host: str,
    port: int,
    workers: int = 1,
    worker_healthcheck_timeout: int = WORKER_HEALTHCHECK_TIMEOUT,
) -> None:
    """Serve one service in the foreground (uvicorn; our middleware writes the access log)."""
    settings = get_common_settings()
    options = server_options(settings)
    if workers > 1:  # uvicorn's supervisor pings each worker; a slow start on a busy machine must not kill it
        options["timeout_worker_healthcheck"] = worker_healthcheck_timeout
    uvicorn.run(spec.app_path, host=host, port=port, workers=workers, **options)


def server_options(settings: CommonSettings) -> dict[str, Any]:
    """uvicorn's options for a service: a request head limit (431) and forwarded headers only from our proxies."""
    proxies = [p.strip() for p in settings.forwarded_allow_ips.split(",") if p.strip()]
    return {
        "log_config": None,
        "access_log": False,  # our middleware writes the access log
        "http": "cxloop.server:HeaderLimitedProtocol",
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
    }


def _label(spec: ServiceSpec) -> str:
    text = f"{spec.short:<7}|"
    return f"{_COLOURS.get(spec.short, '')}{text}{_RESET}" if sys.stdout.isatty() else text


def _pump(spec: ServiceSpec, stream: IO[str]) -> None:
    label = _label(spec)
    for line in stream:
        with _print_lock:
            sys.stdout.write(f"{label} {line}")
            sys.stdout.flush()


def _url(spec: ServiceSpec, host: str, port_offset: int = 0) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - a display name, not a bind
    return f"http://{shown}:{spec.port + port_offset}"


def announce(specs: list[ServiceSpec], *, host: str, token: str, port_offset: int = 0) -> None:
    """Once every service answers /readyz, print the URLs and a development token."""

    def wait_then_print() -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        pending = list(specs)
        while pending and time.monotonic() < deadline:
            pending = [s for s in pending if not is_ready(_url(s, host, port_offset))]
            time.sleep(0.3)
        lines = ["", "cxloop is " + ("ready:" if not pending else "NOT ready (see the logs above):")]
        urls = {s.name: _url(s, host, port_offset) for s in specs}
        lines += [f"  {name:<12} {url}   docs: {url}/docs" for name, url in urls.items()]
        lines += ["", "Development token (org 'dev', every tenant scope, 7 days):", f"  export TOKEN={token}", ""]
        lines += [f'  curl -H "Authorization: Bearer $TOKEN" {urls[specs[0].name]}/v1/units', ""]
        with _print_lock:
            print("\n".join(lines), flush=True)

    threading.Thread(target=wait_then_print, daemon=True).start()


def is_ready(url: str) -> bool:
    """Whether the service at `url` answers `/readyz` with 200 now."""
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(url: str, *, seconds: float = READY_TIMEOUT_SECONDS) -> bool:
    """Poll `/readyz` until it answers 200 (True) or `seconds` have passed (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if is_ready(url):
            return True
        time.sleep(0.2)
    return False


@dataclass
class _Child:
    """One service's process under `serve_many`, and when it was (re)started lately."""

    spec: ServiceSpec
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    restarts: deque[float] = field(default_factory=deque)
    restart_at: float | None = None  # a restart is due at this monotonic time

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env=self.env,
            start_new_session=True,  # Ctrl-C reaches only us; we forward one SIGINT to each child
        )
        assert self.process.stdout is not None
        threading.Thread(target=_pump, args=(self.spec, self.process.stdout), daemon=True).start()
        _say(self.spec, f"started (pid {self.process.pid})")


def _say(spec: ServiceSpec, message: str) -> None:
    """A line from the supervisor itself, labelled like the service's own."""
    with _print_lock:
        sys.stdout.write(f"{_label(spec)} [supervisor] {message}\n")
        sys.stdout.flush()


def serve_many(
    specs: list[ServiceSpec],
    *,
    host: str,
    workers: int = 1,
    port_offset: int = 0,
    restart_limit: int = RESTART_LIMIT,
    worker_healthcheck_timeout: int = WORKER_HEALTHCHECK_TIMEOUT,
) -> int:
    """Start each service as a child process, interleave their labelled logs, restart one that dies (with
    backoff, up to `restart_limit` times in RESTART_WINDOW_SECONDS: then stop all), stop all on Ctrl-C or TERM."""
    stopping = threading.Event()

    def stop(_signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # The services find each other where this command started them, unless told otherwise.
    env = {f"{s.short.upper()}_API_URL": _url(s, host, port_offset) for s in specs}
    env = {**env, **os.environ, "PYTHONUNBUFFERED": "1"}
    children = []
    for spec in specs:
        port = str(spec.port + port_offset)
        command = [sys.executable, "-m", "cxloop", "serve", spec.short, "--host", host, "--port", port]
        command += ["--workers", str(workers), "--worker-healthcheck-timeout", str(worker_healthcheck_timeout)]
        children.append(_Child(spec, command, env))
    for child in children:
        child.start()
    failed = False
    while not stopping.is_set() and not failed:
        failed = any(not _tend(child, restart_limit) for child in children)
        stopping.wait(0.2)
    return _stop_all(children) or int(failed)


def _tend(child: _Child, restart_limit: int) -> bool:
    """Restart the child if it died and its backoff has passed; False when it died too often (give up)."""
    now = time.monotonic()
    if child.restart_at is not None:
        if now >= child.restart_at:
            child.restart_at = None
            child.restarts.append(now)
            child.start()
        return True
    assert child.process is not None
    code = child.process.poll()
    if code is None:
        return True
    while child.restarts and now - child.restarts[0] > RESTART_WINDOW_SECONDS:
        child.restarts.popleft()
    if len(child.restarts) >= restart_limit:
        _say(child.spec, f"exited with code {code}; restarted {len(child.restarts)} times in "
             f"{RESTART_WINDOW_SECONDS:.0f} s: giving up, stopping the stack")  # fmt: skip
        return False
    delay = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** len(child.restarts))
    which = f"restart {len(child.restarts) + 1} of at most {restart_limit} in {RESTART_WINDOW_SECONDS:.0f} s"
    _say(child.spec, f"exited with code {code}; restarting in {delay:.0f} s ({which})")
    child.restart_at = now + delay
    return True


def _stop_all(children: list[_Child]) -> int:
    running = [c for c in children if c.process is not None]
    for child in running:
        assert child.process is not None
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for child in running:
        assert child.process is not None
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait(timeout=10)
    failed = [
        c.spec.name for c in running if c.process is not None and c.process.returncode not in (0, -signal.SIGINT, 130)
    ]
    if failed:
        print(f"stopped; these exited with an error: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
