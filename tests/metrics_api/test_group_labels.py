"""Group labels from survey_api's catalog, journey and stage groups, and answers that degrade without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TokenFactory, client_for
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import at, scored
from tests.survey_api.helpers import ALL, NPS_PLUS, ok

# The org's journey map, in the order it was defined: stages `browse` before `buy`, then `fulfil`.
TOUCHPOINTS = [
    ("Web shop", "purchase", "browse"),
    ("Checkout", "purchase", "buy"),
    ("Store till", "purchase", "buy"),
    ("Delivery", "purchase", "fulfil"),
    ("Hotline", "support", "contact"),
]


@pytest.fixture
async def survey_wired(metrics_app: FastAPI, survey_app: FastAPI) -> AsyncIterator[None]:
    """metrics_api's catalog client talks to this test's survey_api, in-process."""
    catalog = metrics_app.state.survey_catalog
    held = catalog.http
    async with client_for(survey_app, "survey") as survey:
        catalog.http = survey
        catalog.cache.clear()
        yield
    catalog.http = held
    catalog.cache.clear()


async def catalog(client: httpx.AsyncClient, auth: TokenFactory) -> dict[str, str]:
    """Units, touchpoints and a survey in survey_api; their ids by name."""
    headers = auth(**ALL)
    for path, name in (("emea", "EMEA"), ("emea/de", "Germany"), ("emea/fr", "France")):
        await ok(await client.post("/v1/units", json={"path": path, "name": name}, headers=headers))
    ids = {}
    for name, journey, stage in TOUCHPOINTS:
        body = {"name": name, "journey": journey, "stage": stage}
        ids[name] = (await ok(await client.post("/v1/touchpoints", json=body, headers=headers)))["id"]
    survey = await ok(await client.post("/v1/surveys", json={**NPS_PLUS, "name": "Delivery NPS"}, headers=headers))
    ids["survey"] = survey["id"]
    return ids


def labelled(answer: dict[str, Any]) -> dict[str | None, tuple[str | None, int | None]]:
    return {g["key"]: (g["label"], g["n"]) for g in answer["groups"]}


async def test_groups_carry_labels_and_fold_into_journeys_and_stages(
    survey_wired: None, survey_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, read: Read
) -> None:
    ids = await catalog(survey_client, auth)
    counts = {"Web shop": 5, "Checkout": 6, "Store till": 7, "Delivery": 8, "Hotline": 9}
    events = []
    for name, n in counts.items():
        events += scored([10] * n, touchpoint_id=ids[name], unit="emea/fr", survey_id=ids["survey"])
    events += scored([3, 4], unit="emea/de", survey_id=ids["survey"])  # no touchpoint
    await ingest(events)
    by_touchpoint = await read("nps", group_by="touchpoint")
    assert labelled(by_touchpoint) == {ids[k]: (k, n) for k, n in counts.items()} | {None: (None, 2)}
    assert "degraded" not in by_touchpoint
    stages = await read("nps", group_by="stage")
    assert [(g["key"], g["label"], g["n"]) for g in stages["groups"]] == [
        ("purchase/browse", "browse", 5),
        ("purchase/buy", "buy", 6 + 7),  # two touchpoints' histograms added
        ("purchase/fulfil", "fulfil", 8),
        ("support/contact", "contact", 9),
        (None, None, 2),
    ]
    journeys = await read("nps", group_by="journey")
    assert [(g["key"], g["label"], g["n"]) for g in journeys["groups"]] == [
        ("purchase", "purchase", 5 + 6 + 7 + 8),
        ("support", "support", 9),
        (None, None, 2),
    ]
    units = await read("nps", group_by="unit", unit="emea")
    assert {g["key"]: g["label"] for g in units["groups"]} == {"emea/de": "Germany", "emea/fr": "France"}
    surveys = await read("nps", group_by="survey")
    assert labelled(surveys) == {ids["survey"]: ("Delivery NPS", sum(counts.values()) + 2)}
    channels = await read("nps", group_by="channel")
    assert labelled(channels) == {"email": ("email", sum(counts.values()) + 2)}


async def test_journey_trends_and_league_tables_carry_labels(
    survey_wired: None, survey_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, read: Read
) -> None:
    ids = await catalog(survey_client, auth)
    await ingest(scored([10] * 4, touchpoint_id=ids["Web shop"], unit="emea/de", submitted_at=at("2026-03-05")))
    await ingest(scored([0] * 2, touchpoint_id=ids["Checkout"], unit="emea/de", submitted_at=at("2026-04-05")))
    await ingest(scored([10] * 3, touchpoint_id=ids["Hotline"], unit="emea/fr", submitted_at=at("2026-04-06")))
    body = await read("nps", group_by="journey", from_="2026-03-01", to="2026-04-30", interval="month")
    assert body["groups_total"] == 2
    assert [(g["key"], g["label"], g["n"]) for g in body["groups"]] == [
        ("purchase", "purchase", 6),
        ("support", "support", 3),
    ]
    purchase = body["groups"][0]
    assert [(p["key"], p["label"], p["n"]) for p in purchase["trend"]] == [
        ("2026-03-01", "2026-03-01", 4),
        ("2026-04-01", "2026-04-01", 2),
    ]
    league = await read("nps", group_by="unit", depth=2, from_="2026-03-01", to="2026-04-30")
    assert {g["key"]: (g["label"], g["n"]) for g in league["groups"]} == {
        "emea/de": ("Germany", 6),
        "emea/fr": ("France", 3),
    }


async def test_without_survey_api_labels_are_null_and_the_answer_says_so(
    metrics_app: FastAPI, ingest: Ingest, read: Read
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("survey_api is down", request=request)

    catalog = metrics_app.state.survey_catalog
    held = catalog.http
    catalog.http = httpx.AsyncClient(transport=httpx.MockTransport(down), base_url="http://survey")
    catalog.cache.clear()
    try:
        await ingest(scored([10, 9, 3], touchpoint_id="tp_x", unit="emea/de"))
        answer = await read("nps", group_by="touchpoint")
        assert (answer["degraded"], labelled(answer)) == (["labels"], {"tp_x": (None, 3)})
        stages = await read("nps", group_by="stage")
        assert (stages["degraded"], labelled(stages)) == (["labels"], {None: (None, 3)})
        assert "degraded" not in await read("nps", group_by="channel")  # nothing to look up
    finally:
        await catalog.http.aclose()
        catalog.http = held
