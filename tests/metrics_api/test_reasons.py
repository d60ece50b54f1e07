"""`GET /v1/reasons`: reason impact (NPS+) against hand-computed figures, from rollups and from facts alike,
after updates and a rebuild; unit scopes; the scorecard's `points_lost`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.metrics_api.rollups import rebuild_rollups
from tests.conftest import TokenFactory, client_for
from tests.metrics_api.conftest import Ingest
from tests.metrics_api.events import question, response_event
from tests.survey_api.helpers import ALL, published_survey

Client = httpx.AsyncClient
QUESTIONS = [question("nps", "nps", 0, 10), question("why", "reasons")]
# (nps, reasons cited): 4 promoters, 2 passives, 4 detractors: NPS 0 over n = 10.
ANSWERS: list[tuple[int, list[str]]] = [
    (9, ["price"]),
    (3, ["price", "wait"]),
    (5, ["wait"]),
    (10, []),
    (8, ["price"]),
    (10, []),
    (2, ["wait"]),
    (9, []),
    (7, []),
    (0, ["staff"]),
]


def cited(answers: list[tuple[int, list[str]]], unit: str = "emea/de", **options: Any) -> list[Any]:
    return [
        response_event({"nps": nps, "why": why}, questions=QUESTIONS, unit=unit, **{"survey_id": "srv_r", **options})
        for nps, why in answers
    ]


def se(promoters: int, detractors: int, n: int) -> float:
    p, d = promoters / n, detractors / n
    return 100 * math.sqrt((p + d - (p - d) ** 2) / n)


async def reasons(client: Client, headers: dict[str, str], status: int = 200, **params: Any) -> dict[str, Any]:
    query = {"survey_id": "srv_r", "question": "why", **params}
    response = await client.get("/v1/reasons", params=query, headers=headers)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def small_samples(metrics_client: Client, auth: TokenFactory) -> None:
    """A minimum sample of 1, so the hand-sized groups below show their NPS."""
    response = await metrics_client.put("/v1/org-settings", json={"min_sample": 1}, headers=auth())
    assert response.status_code == 200, response.text


def check_hand_computed(body: dict[str, Any]) -> None:
    assert body["n"] == 10 and body["nps"] == pytest.approx(0.0)
    items = {i["code"]: i for i in body["items"]}
    assert [i["code"] for i in body["items"]] == ["wait", "staff", "price"]
    wait, staff, price = items["wait"], items["staff"], items["price"]
    # wait: 3 detractors cite it (NPS -100); the other 7: 4 promoters, 1 detractor (NPS 300/7)
    assert (wait["count"], wait["share_pct"]) == (3, pytest.approx(30.0))
    assert wait["nps_with"] == pytest.approx(-100.0) and wait["nps_without"] == pytest.approx(300 / 7)
    assert wait["points_lost"] == pytest.approx(0.3 * (300 / 7 + 100))
    half = 1.959963984540054 * math.hypot(se(0, 3, 3), se(4, 1, 7)) * 0.3
    assert wait["points_lost_ci"]["low"] == pytest.approx(0.3 * (300 / 7 + 100) - half)
    # staff: one detractor (NPS -100); the other 9: 4 promoters, 3 detractors (NPS 100/9)
    assert staff["points_lost"] == pytest.approx(0.1 * (100 / 9 + 100)) and staff["share_pct"] == pytest.approx(10)
    # price: a promoter, a detractor and a passive (NPS 0); the other 7: 3 and 3 (NPS 0)
    assert price["count"] == 3 and price["nps_with"] == pytest.approx(0) and price["points_lost"] == pytest.approx(0)


@pytest.mark.usefixtures("small_samples")
class TestReasons:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        response = await metrics_client.get("/v1/reasons", params={"survey_id": "srv_r", "question": "why"})
        assert response.status_code == 401

    async def test_hand_computed_from_rollups_and_from_facts(
        self, metrics_client: Client, ingest: Ingest, auth: TokenFactory
    ) -> None:
        await ingest(cited(ANSWERS))
        await ingest(cited([(10, ["price"])] * 3, survey_id="srv_other"))  # another survey: not in scope
        headers = auth(scopes="metrics:read")
        from_rollups = await reasons(metrics_client, headers)
        assert from_rollups["source"] == "rollups"
        check_hand_computed(from_rollups)
        from_facts = await reasons(metrics_client, headers, channel="email")
        assert from_facts["source"] == "facts"
        check_hand_computed(from_facts)

    async def test_an_updated_response_moves_the_rollup_and_a_rebuild_agrees(
        self, metrics_client: Client, metrics_app: FastAPI, ingest: Ingest, auth: TokenFactory
    ) -> None:
        first = cited([(10, ["wait"])], response_id="rsp_changing")
        await ingest(cited(ANSWERS) + first)
        submitted = dt.datetime.fromisoformat(first[0].data["submitted_at"])
        changed = response_event(
            {"nps": 0, "why": ["staff"]}, questions=QUESTIONS, survey_id="srv_r", unit="emea/de",
            response_id="rsp_changing", submitted_at=submitted, updated_at=submitted + dt.timedelta(hours=1),
        )  # fmt: skip
        await ingest([changed])
        headers = auth(scopes="metrics:read")
        body = await reasons(metrics_client, headers)
        staff = next(i for i in body["items"] if i["code"] == "staff")
        assert (body["n"], staff["count"], staff["nps_with"]) == (11, 2, pytest.approx(-100))
        assert body == {**await reasons(metrics_client, headers, channel="email"), "source": "rollups"}
        async with metrics_app.state.db.sessions() as session:
            await rebuild_rollups(session, "acme")
            await session.commit()
        assert await reasons(metrics_client, headers) == body

    async def test_a_unit_restricted_token_sees_only_its_units(
        self, metrics_client: Client, ingest: Ingest, auth: TokenFactory
    ) -> None:
        await ingest(cited(ANSWERS, unit="emea/de") + cited([(0, ["price"])] * 4, unit="amer/us"))
        restricted = auth(scopes="metrics:read", units=["emea"])
        check_hand_computed(await reasons(metrics_client, restricted))
        await reasons(metrics_client, restricted, 403, unit="amer")
        everyone = await reasons(metrics_client, auth(scopes="metrics:read"))
        assert everyone["n"] == 14 and everyone["items"][0]["code"] == "price"

    async def test_the_question_is_required(self, metrics_client: Client, auth: TokenFactory) -> None:
        response = await metrics_client.get(
            "/v1/reasons", params={"survey_id": "srv_r"}, headers=auth(scopes="metrics:read")
        )
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "question"

    async def test_the_scorecard_top_reasons_carry_points_lost(
        self, metrics_client: Client, ingest: Ingest, auth: TokenFactory
    ) -> None:
        await ingest(cited(ANSWERS))
        response = await metrics_client.get("/v1/scorecards/emea", headers=auth(scopes="metrics:read"))
        assert response.status_code == 200, response.text
        top = {r["code"]: r for r in response.json()["top_reasons"]}
        assert top["wait"]["points_lost"] == pytest.approx(0.3 * (300 / 7 + 100))
        assert top["price"]["points_lost"] == pytest.approx(0.0)


class TestLabels:
    """Labels come from survey_api in the caller's language; without survey_api, codes only (and it says so)."""

    @pytest.fixture
    async def survey_wired(self, metrics_app: FastAPI, survey_app: FastAPI) -> AsyncIterator[None]:
        survey_api = metrics_app.state.reason_labels.survey
        held = survey_api.http
        async with client_for(survey_app, "survey") as survey:
            survey_api.http = survey
            yield
        survey_api.http = held

    async def test_labels_in_the_callers_language(
        self, metrics_client: Client, survey_client: Client, ingest: Ingest, auth: TokenFactory, survey_wired: None
    ) -> None:
        survey = await published_survey(survey_client, auth(**ALL))
        questions = [question("nps", "nps", 0, 10), question("reasons", "reasons")]
        answers = [{"nps": 2, "reasons": ["delivery"]}] * 5 + [{"nps": 9, "reasons": ["price"]}] * 5
        await ingest([response_event(a, questions=questions, survey_id=survey["id"]) for a in answers])
        params = {"survey_id": survey["id"], "question": "reasons"}
        for header, language, label in (
            ("de-CH, en;q=0.5", "de", "Lieferung"),
            ("fr", "en", "Delivery"),
            (None, "en", "Delivery"),
        ):
            headers = auth(scopes="metrics:read") | ({"Accept-Language": header} if header else {})
            body = (await metrics_client.get("/v1/reasons", params=params, headers=headers)).json()
            assert (body["language"], body["degraded"]) == (language, [])
            assert {i["code"]: i["label"] for i in body["items"]}["delivery"] == label

    async def test_survey_api_down_codes_only(
        self, metrics_app: FastAPI, metrics_client: Client, ingest: Ingest, auth: TokenFactory
    ) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        await ingest(cited(ANSWERS))
        survey_api = metrics_app.state.reason_labels.survey
        held = survey_api.http
        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://survey") as down:
            survey_api.http = down
            body = await reasons(metrics_client, auth(scopes="metrics:read"))
        survey_api.http = held
        assert (body["degraded"], body["language"]) == (["labels"], None)
        assert {item["code"]: item["label"] for item in body["items"]} == {"price": None, "wait": None, "staff": None}
