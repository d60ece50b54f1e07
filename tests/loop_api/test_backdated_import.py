"""A backdated partner history, survey_api → outbox → loop_api in-process: only recent answers open cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import TokenFactory, client_for, common_settings
from tests.loop_api.helpers import ok
from tests.survey_api.helpers import ALL, make_units, published_survey

DAYS = 120
RESPONSES = 200
MAX_AGE = dt.timedelta(days=30)  # LOOP_CASE_MAX_RESPONSE_AGE_DAYS of the test settings (the default)


def accept(request: httpx.Request) -> httpx.Response:
    """metrics_api, as far as this test cares: it takes every batch."""
    return httpx.Response(200, json={"processed": 0, "duplicates": 0, "ignored": 0})


async def drain(survey_app: FastAPI, loop_app: FastAPI) -> None:
    """Deliver survey_api's whole outbox to loop_api (and to an accepting metrics_api)."""
    async with (
        client_for(loop_app, "loop") as loop,
        httpx.AsyncClient(transport=httpx.MockTransport(accept), base_url="http://metrics") as metrics,
    ):
        clients = {"loop": loop, "metrics": metrics}
        dispatcher = replace(survey_app.state.dispatcher, clients=clients, settings=common_settings())
        while await dispatcher.drain_once():
            pass


async def all_cases(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    page = await ok(await client.get("/v1/cases", params={"limit": 500}, headers=headers))
    assert page.get("next_cursor") is None
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_a_backdated_history_opens_only_the_cases_within_the_age_limit(
    survey_app: FastAPI,
    loop_app: FastAPI,
    survey_client: httpx.AsyncClient,
    loop_client: httpx.AsyncClient,
    auth: TokenFactory,
) -> None:
    headers = auth(**ALL)
    await make_units(survey_client, headers, "emea", "emea/de")
    survey = await published_survey(survey_client, headers)
    now = dt.datetime.now(dt.UTC)
    # Spread over 120 days, 0.6 days apart, an hour off the day: no answer lies within hours of the limit.
    ages = [dt.timedelta(days=DAYS * i / RESPONSES, hours=1) for i in range(RESPONSES)]
    scores = [i % 11 for i in range(RESPONSES)]
    items = [
        {
            "survey_id": survey["id"],
            "external_id": f"hist-{i}",
            "unit": "emea/de",
            "channel": "email",
            "submitted_at": (now - age).isoformat(),
            "answers": {"nps": score},
        }
        for i, (age, score) in enumerate(zip(ages, scores, strict=True))
    ]
    for start in (0, 100):
        batch = {"items": items[start : start + 100]}
        result = await ok(await survey_client.post("/v1/responses/batch", json=batch, headers=headers), 200, 201)
        assert (result["accepted"], result["rejected"]) == (100, [])
    await drain(survey_app, loop_app)
    due = [i for i in range(RESPONSES) if scores[i] <= 6 and ages[i] <= MAX_AGE]
    assert len(due) == 34  # by hand: i = 0…49 are within 30 days: four runs of 11 give 4·7, and 44…49 give 6
    cases = await all_cases(loop_client, auth(scopes="cases:read"))
    assert len(cases) == len(due)
    assert sorted(c["snapshot"]["answers"]["nps"] for c in cases) == sorted(scores[i] for i in due)
    oldest = min(dt.datetime.fromisoformat(c["snapshot"]["submitted_at"]) for c in cases)
    assert now - oldest <= MAX_AGE
