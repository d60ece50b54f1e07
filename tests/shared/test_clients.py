"""The typed clients services call each other with: a service token on behalf of the caller, a timeout."""

from __future__ import annotations

import datetime as dt
import logging

import httpx
import pytest

from shared.auth import Principal, TokenVerifier
from shared.clients import LoopClient
from tests.conftest import common_settings

ALICE = Principal(sub="alice", org="acme", scopes=frozenset({"metrics:read"}), units=("emea/de",))
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def client(handler: httpx.MockTransport, timeout: float = 1.5) -> LoopClient:
    http = httpx.AsyncClient(transport=handler, base_url="http://loop")
    return LoopClient(settings=common_settings(), caller="metrics_api", service="loop_api", http=http, timeout=timeout)


async def test_case_stats_asks_as_the_caller_with_a_service_token() -> None:
    asked: list[httpx.Request] = []

    def loop(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json={"overall": {"cases": 4}})

    loop_api = client(httpx.MockTransport(loop))
    assert await loop_api.case_stats(principal=ALICE, start=START, end=END, unit="emea/de/berlin") == {"cases": 4}
    (request,) = asked
    assert request.url.path == "/v1/cases/stats"
    assert dict(request.url.params) == {"from": START.isoformat(), "to": END.isoformat(), "unit": "emea/de/berlin"}
    assert request.extensions["timeout"]["read"] == 1.5
    caller = TokenVerifier(common_settings()).verify(request.headers["Authorization"].removeprefix("Bearer "))
    assert (caller.sub, caller.org, caller.scopes, caller.units, caller.service) == (
        "alice",
        "acme",
        frozenset({"cases:read"}),
        ("emea/de",),
        "metrics_api",  # signed with the service key, naming the service that acts for alice
    )


@pytest.mark.parametrize("answer", ["refused", 503])
async def test_a_service_that_does_not_answer_yields_none(answer: str | int, caplog: pytest.LogCaptureFixture) -> None:
    def loop(request: httpx.Request) -> httpx.Response:
        if answer == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(int(answer))

    with caplog.at_level(logging.WARNING, logger="cxloop.clients"):
        assert (
            await client(httpx.MockTransport(loop)).case_stats(principal=ALICE, start=START, end=END, unit=None) is None
        )
    assert any("loop_api" in record.getMessage() for record in caplog.records)
