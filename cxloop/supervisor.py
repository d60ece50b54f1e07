"""Run services: one in this process under uvicorn, or all three as labelled child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any

import httpx
import uvicorn

from cxloop.services import ServiceSpec
from shared.settings import CommonSettings, get_common_settings

READY_TIMEOUT_SECONDS = 120.0
_COLOURS = {"survey": "\033[36m", "metrics": "\033[35m", "loop": "\033[33m"}
_RESET = "\033[0m"
_print_lock = threading.Lock()


def serve_one(spec: ServiceSpec, *, host: str, port: int, workers: int = 1) -> None:
    """Serve one service in the foreground (uvicorn; our middleware writes the access log)."""
    settings = get_common_settings()
    uvicorn.run(spec.app_path, host=host, port=port, workers=workers, **server_options(settings))


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


def serve_many(specs: list[ServiceSpec], *, host: str, workers: int = 1, port_offset: int = 0) -> int:
    """Start each service as a child process, interleave their labelled logs, stop all on Ctrl-C or TERM."""
    children: list[tuple[ServiceSpec, subprocess.Popen[str]]] = []
    stopping = threading.Event()

    def stop(_signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # The services find each other where this command started them, unless told otherwise.
    env = {f"{s.short.upper()}_API_URL": _url(s, host, port_offset) for s in specs}
    env = {**env, **os.environ, "PYTHONUNBUFFERED": "1"}
    for spec in specs:
        port = str(spec.port + port_offset)
        command = [sys.executable, "-m", "cxloop", "serve", spec.short, "--host", host, "--port", port]
        command += ["--workers", str(workers)]
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env=env,
            start_new_session=True,  # Ctrl-C reaches only us; we forward one SIGINT to each child
        )
        assert child.stdout is not None
        threading.Thread(target=_pump, args=(spec, child.stdout), daemon=True).start()
        children.append((spec, child))
    while not stopping.is_set() and all(child.poll() is None for _, child in children):
        stopping.wait(0.5)
    return _stop_all(children)


def _stop_all(children: list[tuple[ServiceSpec, subprocess.Popen[str]]]) -> int:
    for _, child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for _, child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    failed = [spec.name for spec, child in children if child.returncode not in (0, -signal.SIGINT, 130)]
    if failed:
        print(f"stopped; these exited with an error: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
