"""`cxloop demo` against the real stack: after it, metrics answer, cases were opened and closed with root causes."""

from __future__ import annotations

import subprocess
import sys

import httpx

from shared.auth import SCOPES, mint_token
from tests.conftest import common_settings
from tests.e2e.stack import Stack, eventually
from tests.e2e.test_closed_loop import stack  # noqa: F401 - the fixture


def test_demo_fills_every_service(stack: Stack) -> None:  # noqa: F811
    command = [sys.executable, "-m", "cxloop", "demo", "--org", "demo", "--responses", "400"]
    done = subprocess.run(command, env=stack.env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "responses stored" in done.stderr and "cases closed" in done.stderr
    token = mint_token(common_settings(), org="demo", sub="e2e", scopes=SCOPES)
    headers = {"Authorization": f"Bearer {token}"}

    def nps_n() -> int:
        answer = httpx.get(f"{stack.url('metrics')}/v1/metrics/nps", params={"from": "2020-01-01"}, headers=headers)
        return int(answer.json()["n"]) if answer.status_code == 200 else 0

    assert eventually(lambda: nps_n() > 100)
    closed = httpx.get(f"{stack.url('loop')}/v1/cases", params={"status": "closed", "limit": 500}, headers=headers)
    assert closed.status_code == 200
    items = closed.json()["items"]
    assert items and all(case["root_causes"] and case["outcome"] for case in items)
