"""What `make run` does, for real: migrate, start all three services as processes, call them, stop them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET

STARTUP_SECONDS = 60
RESTART_SECONDS = 240  # a start and a restart of a service (generous: CI machines are shared)


def free_offset() -> int:
    """An offset so that 8001+o, 8002+o and 8003+o are all free on loopback."""
    for offset in range(20000, 40000, 97):
        sockets = []
        try:
            for port in (8001 + offset, 8002 + offset, 8003 + offset):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return offset
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports")


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL") and not k.endswith("_API_URL")}
    env.update({f"{s.upper()}_DATABASE_URL": f"sqlite:///{tmp_path}/{s}.db" for s in ("survey", "metrics", "loop")})
    env.update({"CXLOOP_JWT_SECRET": TEST_SECRET, "CXLOOP_ENV": "test"})
    return env


def cxloop(*args: str) -> list[str]:
    return [sys.executable, "-m", "cxloop", *args]


def test_migrate_serve_call_and_stop(stack_env: dict[str, str]) -> None:
    migrated = subprocess.run(cxloop("migrate", "all"), env=stack_env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    offset = free_offset()
    process = subprocess.Popen(
        cxloop("serve", "all", "--port-offset", str(offset)),
        env=stack_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        token = _wait_for_token(lines)
        headers = {"Authorization": f"Bearer {token}"}
        for port in (8001 + offset, 8002 + offset, 8003 + offset):
            assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        created = httpx.post(
            f"http://127.0.0.1:{8001 + offset}/v1/units", json={"path": "emea", "name": "EMEA"}, headers=headers
        )
        assert created.status_code == 201, created.text
        assert httpx.get(f"http://127.0.0.1:{8002 + offset}/v1/org-settings", headers=headers).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        exit_code = process.wait(timeout=30)
        reader.join(timeout=5)
    output = "".join(lines)
    assert exit_code == 0, output
    for label in ("survey |", "metrics|", "loop   |"):
        assert label in output, f"no log lines labelled {label!r}"
    assert '"path": "/v1/units", "status": 201' in output  # the access log is structured JSON
    for port in (8001 + offset, 8002 + offset, 8003 + offset):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def _wait_for_token(lines: list[str], seconds: float = STARTUP_SECONDS) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in list(lines):
            match = re.search(r"export TOKEN=(\S+)", line)
            if match:
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError("cxloop serve all did not announce readiness:\n" + "".join(lines))


def _started_pids(lines: list[str], label: str) -> list[int]:
    return [int(m.group(1)) for line in list(lines) if line.startswith(label)
            for m in [re.search(r"\[supervisor\] started \(pid (\d+)\)", line)] if m]  # fmt: skip


def test_a_service_that_dies_is_restarted(stack_env: dict[str, str]) -> None:
    offset = free_offset()
    survey_url = f"http://127.0.0.1:{8001 + offset}"
    process = subprocess.Popen(
        cxloop("serve", "all", "--port-offset", str(offset)),
        env=stack_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        _wait_for_token(lines, RESTART_SECONDS)
        [first] = _started_pids(lines, "survey |")
        os.kill(first, signal.SIGKILL)  # the survey service crashes
        deadline = time.monotonic() + RESTART_SECONDS
        while len(_started_pids(lines, "survey |")) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        pids = _started_pids(lines, "survey |")
        assert len(pids) == 2 and pids[1] != first, "".join(lines)
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{survey_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert httpx.get(f"{survey_url}/readyz", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{8002 + offset}/healthz", timeout=5).status_code == 200  # never stopped
        assert process.poll() is None  # the stack kept running
    finally:
        process.send_signal(signal.SIGINT)
        exit_code = process.wait(timeout=30)
        reader.join(timeout=5)
    output = "".join(lines)
    assert f"exited with code {-signal.SIGKILL}; restarting in 1 s (restart 1 of at most 5" in output, output
    assert exit_code == 0, output


def test_a_service_that_keeps_dying_stops_the_stack(stack_env: dict[str, str]) -> None:
    offset = free_offset()
    with socket.socket() as taken:  # survey_api's port is taken: it fails at every start
        taken.bind(("127.0.0.1", 8001 + offset))
        taken.listen()
        done = subprocess.run(
            cxloop("serve", "all", "--port-offset", str(offset), "--restart-limit", "1", "--no-print-token"),
            env=stack_env,
            capture_output=True,
            text=True,
            timeout=2 * RESTART_SECONDS,
        )
    assert done.returncode == 1, done.stdout
    assert "restarting in 1 s (restart 1 of at most 1" in done.stdout
    assert "restarted 1 times in 300 s: giving up, stopping the stack" in done.stdout
