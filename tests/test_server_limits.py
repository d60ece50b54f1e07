"""`cxloop serve`'s HTTP server: an oversize request head is a 431 at once; forwarded headers need a proxy list."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from cxloop.supervisor import server_options
from tests.conftest import common_settings

LIMIT = 16 * 1024


def _app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, Any]:
        body = await request.body()
        return {"client": request.client.host if request.client else None, "body": len(body)}

    return app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A uvicorn server with `cxloop serve`'s options (a 16 KiB head limit) in a thread."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    options = server_options(common_settings(max_header_bytes=LIMIT, **overrides))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(_app(), host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_oversize_header_is_431_problem(server_url: str) -> None:
    huge = "Bearer " + "a" * (4 * 1024 * 1024)
    response = httpx.get(f"{server_url}/echo", headers={"Authorization": huge}, timeout=30)
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 431


def test_heads_within_the_limit_and_large_bodies_pass(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=30) as client:  # one keep-alive connection for every request
        assert client.get("/echo", headers={"X-Big": "b" * (LIMIT - 1024)}).status_code == 200
        posted = client.post("/echo", content=b"x" * (2 * 1024 * 1024))
        assert posted.json()["body"] == 2 * 1024 * 1024
        assert client.get("/echo", headers={"X-Big": "c" * (LIMIT - 1024)}).status_code == 200
        assert client.get("/echo", headers={"X-Big": "d" * (LIMIT + 1024)}).status_code == 431


def test_forwarded_for_is_ignored_by_default(server_url: str) -> None:
    response = httpx.get(f"{server_url}/echo", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.json()["client"] == "127.0.0.1"


@pytest.mark.parametrize("server_url", [{"forwarded_allow_ips": "127.0.0.1"}], indirect=True)
def test_forwarded_for_is_trusted_from_a_configured_proxy(server_url: str) -> None:
    response = httpx.get(f"{server_url}/echo", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.json()["client"] == "203.0.113.9"
