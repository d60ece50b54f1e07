"""`GET /v1/scorecards[/{unit}]`: content, size, ETag/304 and caching, and the five cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TokenFactory, client_for
from tests.loop_api.helpers import open_case
from tests.metrics_api.conftest import Ingest
from tests.metrics_api.events import days_ago, nps_scores, question, response_event, scored

READ = "metrics:read"
Client = httpx.AsyncClient
CODES = ["price", "wait", "staff", "app", "delivery", "quality", "other"]
REASONS = [question("nps", "nps"), question("reasons", "reasons")]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def card(client: Client, headers: dict[str, str], path: str = "/v1/scorecards", **params: Any) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def seed(ingest: Ingest, client: Client, auth: TokenFactory) -> None:
    """A full scorecard's worth of data for emea/de: both periods, every metric, reasons, a target."""
    await ingest(scored(nps_scores(30, 10, 10), unit="emea/de", submitted_at=days_ago(3)))
    await ingest(scored(nps_scores(10, 10, 30), unit="emea/de", submitted_at=days_ago(40)))
    await ingest(scored([5, 4, 4, 5, 2, 5], key="csat", unit="emea/de/berlin", submitted_at=days_ago(1)))
    await ingest(scored([7, 6, 6, 5, 7, 3], key="ces", unit="emea/de", submitted_at=days_ago(10)))
    cited = [CODES[: 1 + i % len(CODES)] for i in range(20)]
    await ingest([response_event({"nps": 9, "reasons": c}, questions=REASONS, unit="emea/de") for c in cited])
    today = dt.date.today()
    period = {
        "period_start": (today - dt.timedelta(days=400)).isoformat(),
        "period_end": (today + dt.timedelta(days=400)).isoformat(),
    }
    for metric, value in (("nps", 20), ("csat", 90)):
        body = {"metric": metric, "unit": "emea/de", "value": value, **period}
        assert (await client.post("/v1/targets", json=body, headers=auth())).status_code == 201


class TestScorecard:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        problem(await metrics_client.get("/v1/scorecards"), 401)
        problem(await metrics_client.get("/v1/scorecards/emea/de"), 401)

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        response = await metrics_client.get("/v1/scorecards/emea", headers=auth(scopes="admin"))
        assert "metrics:read" in problem(response, 403)["detail"]

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory, ingest: Ingest) -> None:
        await seed(ingest, metrics_client, auth)
        other = await card(metrics_client, auth(org="globex", scopes=READ), "/v1/scorecards/emea/de")
        assert (other["responses"], other["nps"]["n"], other["top_reasons"], other["nps"]["target"]) == (0, 0, [], None)

    async def test_empty_unit(self, metrics_client: Client, auth: TokenFactory, ingest: Ingest) -> None:
        await seed(ingest, metrics_client, auth)
        empty = await card(metrics_client, auth(scopes=READ), "/v1/scorecards/apac/jp")
        assert (empty["unit"], empty["responses"], empty["nps"]["value"], empty["csat"]["n"]) == ("apac/jp", 0, None, 0)
        assert len(empty["trend"]) == 12

    async def test_invalid_unit(self, metrics_client: Client, auth: TokenFactory) -> None:
        problem(await metrics_client.get("/v1/scorecards/EMEA/De", headers=auth(scopes=READ)), 422)
        problem(await metrics_client.get("/v1/scorecards", params={"days": 0}, headers=auth(scopes=READ)), 422)

    async def test_valid(self, metrics_client: Client, auth: TokenFactory, ingest: Ingest) -> None:
        await seed(ingest, metrics_client, auth)
        body = await card(metrics_client, auth(scopes=READ), "/v1/scorecards/emea/de")
        assert (body["unit"], body["days"], body["responses"]) == ("emea/de", 30, 50 + 6 + 6 + 20)
        nps = body["nps"]
        assert (nps["n"], nps["value"]) == (70, pytest.approx(100 * (50 - 10) / 70))
        assert nps["previous"] == {"value": pytest.approx(100 * (10 - 30) / 50), "n": 50}
        assert nps["significant"] is True and nps["p_value"] < 0.001
        assert (nps["target"]["value"], nps["target"]["met"], nps["target"]["to_target"]["met"]) == (20.0, True, True)
        csat_target = body["csat"]["target"]
        assert (csat_target["value"], csat_target["met"]) == (90.0, False)  # 5 of 6 satisfied: 83.3 %
        # 90 % of 6 is 5.4 satisfied: 1 more
        assert csat_target["to_target"]["moves"] == [{"from": "below", "to": "satisfied", "count": 1}]
        assert (body["csat"]["scale_min"], body["csat"]["scale_max"], body["ces"]["n"]) == (1, 5, 6)
        assert body["ces"]["target"] is None
        assert [r["code"] for r in body["top_reasons"]] == ["price", "wait", "staff", "app", "delivery"]
        assert body["top_reasons"][0]["count"] == 20
        weeks = [point["week"] for point in body["trend"]]
        assert len(weeks) == 12 and weeks == sorted(weeks)
        assert dt.date.fromisoformat(weeks[-1]).weekday() == 0
        assert sum(point["n"] for point in body["trend"]) >= 70
        start, end = (dt.date.fromisoformat(body["period"][k]) for k in ("from", "to"))
        assert (end - start).days == 29
        previous = body["previous_period"]
        assert dt.date.fromisoformat(previous["to"]) == start - dt.timedelta(days=1)
        assert dt.date.fromisoformat(previous["from"]) == start - dt.timedelta(days=30)

    async def test_days(self, metrics_client: Client, auth: TokenFactory, ingest: Ingest) -> None:
        await seed(ingest, metrics_client, auth)
        week = await card(metrics_client, auth(scopes=READ), "/v1/scorecards/emea/de", days=7)
        assert (week["days"], week["ces"]["n"], week["ces"]["previous"]["n"]) == (7, 0, 6)

    async def test_small_payload(self, metrics_client: Client, auth: TokenFactory, ingest: Ingest) -> None:
        await seed(ingest, metrics_client, auth)
        response = await metrics_client.get("/v1/scorecards/emea/de", headers=auth(scopes=READ))
        assert len(response.content) < 4096, len(response.content)

    async def test_etag_and_304(self, metrics_client: Client, auth: TokenFactory, ingest: Ingest) -> None:
        await seed(ingest, metrics_client, auth)
        headers = auth(scopes=READ)
        first = await metrics_client.get("/v1/scorecards/emea", headers=headers)
        etag = first.headers["etag"]
        assert etag.startswith('"') and first.headers["cache-control"] == "private, max-age=60"
        again = await metrics_client.get("/v1/scorecards/emea", headers={**headers, "If-None-Match": etag})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
        assert again.headers["cache-control"] == "private, max-age=60"
        weak = await metrics_client.get("/v1/scorecards/emea", headers={**headers, "If-None-Match": f'"x", W/{etag}'})
        assert weak.status_code == 304
        stale = await metrics_client.get("/v1/scorecards/emea", headers={**headers, "If-None-Match": '"other"'})
        assert (stale.status_code, stale.json()) == (200, first.json())
        await ingest(scored([0], unit="emea/fr"))
        changed = await metrics_client.get("/v1/scorecards/emea", headers={**headers, "If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag

    async def test_unit_restricted_token(self, metrics_client: Client, auth: TokenFactory, ingest: Ingest) -> None:
        await seed(ingest, metrics_client, auth)
        await ingest(scored([0] * 5, unit="amer"))
        restricted = auth(scopes=READ, units=["emea"])
        problem(await metrics_client.get("/v1/scorecards/amer", headers=restricted), 403)
        own = await card(metrics_client, restricted)
        assert (own["unit"], own["nps"]["n"]) == (None, 70)
        whole = await card(metrics_client, auth(scopes=READ))
        assert whole["nps"]["n"] == 75

    async def test_mixed_scales_report_the_most_answered_one(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest
    ) -> None:
        seven = [question("csat7", "csat", 1, 7)]
        await ingest(scored([5, 4, 5], key="csat"))
        await ingest(scored([7, 7, 6, 1, 7], key="csat7", questions=seven))
        body = await card(metrics_client, auth(scopes=READ))
        assert (body["csat"]["scale_max"], body["csat"]["n"], body["csat"]["value"]) == (7, 5, 80.0)


class TestCaseFigures:
    """The scorecard asks loop_api for the period's cases, and renders without them (saying so) when it can't."""

    @pytest.fixture
    async def loop_wired(self, metrics_app: FastAPI, loop_app: FastAPI) -> AsyncIterator[None]:
        loop_api = metrics_app.state.case_figures.loop
        held = loop_api.http
        async with client_for(loop_app, "loop") as loop:
            loop_api.http = loop
            yield
        loop_api.http = held

    async def test_cases_of_the_unit_and_period(
        self, metrics_client: Client, loop_client: Client, auth: TokenFactory, ingest: Ingest, loop_wired: None
    ) -> None:
        service = auth(org="system", scopes="events:write", sub="survey-dispatcher")
        reader = auth(scopes="cases:read cases:write")
        for unit in ("emea/de", "emea/de/berlin", "amer"):
            await open_case(loop_client, service, reader, unit=unit)
        await ingest(scored([3, 9], unit="emea/de", submitted_at=days_ago(1)))
        emea = await card(metrics_client, auth(scopes=READ), "/v1/scorecards/emea")
        assert emea["degraded"] == []
        assert emea["cases"]["opened"] == 2
        assert emea["cases"]["first_contacts"] == 0
        assert emea["nps"]["n"] == 2
        everything = await card(metrics_client, auth(scopes=READ))
        assert everything["cases"]["opened"] == 3
        only_amer = await card(metrics_client, auth(scopes=READ, units=["amer"]))  # the token's units, in loop too
        assert only_amer["cases"]["opened"] == 1
        elsewhere = await card(metrics_client, auth(scopes=READ), "/v1/scorecards/apac")
        assert elsewhere["cases"]["opened"] == 0

    async def test_loop_down_renders_without_case_figures(
        self, metrics_app: FastAPI, metrics_client: Client, auth: TokenFactory, ingest: Ingest
    ) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        loop_api = metrics_app.state.case_figures.loop
        held = loop_api.http
        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://loop") as down:
            loop_api.http = down
            await ingest(scored([10, 9, 2], unit="emea/de", submitted_at=days_ago(1)))
            body = await card(metrics_client, auth(scopes=READ), "/v1/scorecards/emea")
        loop_api.http = held
        assert (body["cases"], body["degraded"]) == (None, ["cases"])
        assert body["nps"]["n"] == 3  # everything metrics holds itself is there

    async def test_an_answer_is_kept_for_a_minute_a_failure_is_not(
        self, metrics_app: FastAPI, metrics_client: Client, auth: TokenFactory
    ) -> None:
        asked: list[httpx.Request] = []
        overall = {"cases": 4, "first_contacts": 3, "median_hours_to_first_contact": 2.5, "saved": 1}
        overall |= {"first_contact_within_sla_rate": 0.75, "resolved_within_sla_rate": None, "saved_rate": 0.5}

        def loop(request: httpx.Request) -> httpx.Response:
            asked.append(request)
            if len(asked) == 1:
                return httpx.Response(503)
            return httpx.Response(200, json={"overall": overall})

        loop_api = metrics_app.state.case_figures.loop
        held = loop_api.http
        async with httpx.AsyncClient(transport=httpx.MockTransport(loop), base_url="http://loop") as fake:
            loop_api.http = fake
            first = await card(metrics_client, auth(scopes=READ), "/v1/scorecards/emea")
            second = await card(metrics_client, auth(scopes=READ), "/v1/scorecards/emea")
            third = await card(metrics_client, auth(scopes=READ), "/v1/scorecards/emea")
        loop_api.http = held
        assert (first["cases"], first["degraded"]) == (None, ["cases"])
        assert (
            second["cases"]
            == third["cases"]
            == {
                "opened": 4,
                "first_contacts": 3,
                "median_hours_to_first_contact": 2.5,
                "first_contact_within_sla_rate": 0.75,
                "resolved_within_sla_rate": None,
                "saved": 1,
                "saved_rate": 0.5,
                "active_plans": None,  # this loop_api did not send them
            }
        )
        assert len(asked) == 2  # the failure was asked again; the answer was kept
        assert asked[1].url.path == "/v1/cases/stats"
        assert asked[1].url.params["unit"] == "emea"
        assert asked[1].headers["authorization"].startswith("Bearer ")
