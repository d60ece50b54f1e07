"""The real stack for end-to-end tests: each service as a `cxloop serve` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import free_port
from cxloop import supervisor
from tests.conftest import TEST_SECRET

SERVICES = ("survey", "metrics", "loop")
READY_SECONDS = 60.0


@dataclass
class Stack:
    """Three services (or more replicas) sharing one set of databases, with their logs in `log_dir`."""

    database_urls: dict[str, str]
    log_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    processes: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)

    def url(self, short: str) -> str:
        """The base URL of a service (its first replica)."""
        return f"http://127.0.0.1:{self.ports[short]}"

    def env(self) -> dict[str, str]:
        """What every process of the stack is told: its databases, where the others are, the test secret."""
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_DATABASE_URL", "_API_URL"))}
        env.update({f"{s.upper()}_DATABASE_URL": url for s, url in self.database_urls.items()})
        env.update({f"{s.upper()}_API_URL": self.url(s) for s in SERVICES})
        env.update({"CXLOOP_JWT_SECRET": TEST_SECRET, "CXLOOP_ENV": "test", "CXLOOP_LOG_LEVEL": "WARNING"})
        return env

    def start(self, short: str, *, port: int | None = None) -> None:
        """Start one process of a service (another replica when `port` is given) and wait until it is ready."""
        port = port or self.ports[short]
        log = (self.log_dir / f"{short}-{port}.log").open("ab")
        command = [sys.executable, "-m", "cxloop", "serve", short, "--port", str(port)]
        process = subprocess.Popen(command, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        self.processes.setdefault(short, []).append(process)
        wait_ready(f"http://127.0.0.1:{port}")

    def kill(self, short: str) -> None:
        """SIGKILL every process of a service: no goodbye, no flush."""
        for process in self.processes.pop(short, []):
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        """Stop every process politely (then firmly)."""
        for processes in self.processes.values():
            for process in processes:
                process.send_signal(signal.SIGINT)
        for processes in self.processes.values():
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.processes.clear()

    def logs(self) -> str:
        """Every process's output, for a failure message."""
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.log_dir.glob("*.log")))


def wait_ready(base_url: str) -> None:
    """Wait until `/readyz` answers 200."""
    if not supervisor.wait_ready(base_url, seconds=READY_SECONDS):
        raise RuntimeError(f"{base_url} did not become ready")


def eventually(check: object, *, seconds: float = 90.0, every: float = 0.5) -> object:
    """Call `check` until it returns something truthy (bounded wait), and return that."""
    assert callable(check)
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"not reached within {seconds}s; last result: {last!r}")
