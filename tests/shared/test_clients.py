"""The typed clients services call each other with: a service token on behalf of the caller, a timeout."""

from __future__ import annotations

import datetime as dt
import logging

import httpx
import pytest

from shared.auth import Principal, TokenVerifier
from shared.clients import LoopClient, SurveyClient
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


async def test_the_survey_catalog_reads_every_page_once_then_from_its_cache() -> None:
    asked: list[httpx.Request] = []
    pages = {None: ({"id": "tp_1", "name": "Delivery"}, "c2"), "c2": ({"id": "tp_2", "name": "Hotline"}, None)}

    def survey(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        item, following = pages[request.url.params.get("cursor")]
        return httpx.Response(200, json={"items": [item], "next_cursor": following})

    http = httpx.AsyncClient(transport=httpx.MockTransport(survey), base_url="http://survey")
    survey_api = SurveyClient(
        settings=common_settings(), caller="metrics_api", service="survey_api", http=http, timeout=1.5
    )
    expected = [{"id": "tp_1", "name": "Delivery"}, {"id": "tp_2", "name": "Hotline"}]
    assert await survey_api.catalog("touchpoints", principal=ALICE) == expected
    assert await survey_api.catalog("touchpoints", principal=ALICE) == expected
    assert [(r.url.path, r.url.params.get("cursor")) for r in asked] == [
        ("/v1/touchpoints", None),
        ("/v1/touchpoints", "c2"),
    ]
    caller = TokenVerifier(common_settings()).verify(asked[0].headers["Authorization"].removeprefix("Bearer "))
    assert (caller.org, caller.scopes, caller.units) == ("acme", frozenset({"surveys:read"}), ("emea/de",))


async def test_a_down_survey_api_is_asked_again_only_after_a_pause() -> None:
    calls = 0

    def down(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(down), base_url="http://survey")
    survey_api = SurveyClient(
        settings=common_settings(), caller="metrics_api", service="survey_api", http=http, timeout=1.5
    )
    assert await survey_api.catalog("units", principal=ALICE) is None
    assert await survey_api.catalog("units", principal=ALICE) is None
    assert calls == 1
