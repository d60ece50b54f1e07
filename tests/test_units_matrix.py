"""Ten `units` token shapes by every GET of the three services (from their OpenAPI documents), on data planted in
three regions (emea/de/berlin-01, emea2, apac): no answer names anything of a region outside the token's units."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from shared.auth import SCOPES
from shared.events import EventBatch
from tests.conftest import TokenFactory, client_for, service_headers
from tests.loop_api.events import response_event
from tests.survey_api.helpers import ALL, make_units, ok, published_survey

READ = [s for s in SCOPES if s != "events:write"]
REGIONS = {"emea": "emea/de/berlin-01", "emea2": "emea2", "apac": "apac"}
SHAPES: list[list[str] | None] = [
    None,
    ["emea"],
    ["emea/de"],
    ["emea/de/berlin-01"],
    ["apac"],
    ["emea", "apac"],
    [],
    ["nowhere"],
    ["emea2"],
    ["emea/de/berlin-01/none"],
]
SKIP = re.compile(r"^/(internal|healthz|readyz|openapi|docs|redoc)|^/metrics$|/hosted|^/r/")


def _sees(units: list[str] | None, path: str) -> bool:
    return units is None or any(path == u or path.startswith(u + "/") for u in units)


async def _plant(clients: dict[str, httpx.AsyncClient], auth: TokenFactory) -> dict[str, set[str]]:
    """One response (with its contact) per region in survey_api, the same as events in metrics_api and loop_api;
    the ids that belong to each region."""
    headers = auth(**ALL)
    await make_units(clients["survey_app"], headers, "emea", "emea/de", "emea/de/berlin-01", "emea2", "apac")
    survey = await published_survey(clients["survey_app"], headers)
    markers: dict[str, set[str]] = {}
    events = []
    for region, unit in REGIONS.items():
        body = {"survey_id": survey["id"], "external_id": f"x-{region}", "unit": unit, "answers": {"nps": 2},
                "contact": {"external_id": f"c-{region}", "unit": unit, "email": f"{region}@example.com"}}  # fmt: skip
        stored = await ok(await clients["survey_app"].post("/v1/responses", json=body, headers=headers))
        markers[region] = {stored["id"], stored["contact_id"]}
        events.append(response_event(response_id=stored["id"], contact_id=stored["contact_id"], unit=unit))
    batch = EventBatch(events=events).model_dump(mode="json")
    # Someone who looks after every region: each new case writes them a notification naming it.
    watcher = {"handle": "watcher", "name": "W", "email": "w@example.com", "units": sorted(REGIONS)}
    await ok(await clients["loop_app"].post("/v1/people", json=watcher, headers=auth(scopes="cases:write")), 201)
    for name, service in (("metrics_app", "survey_api"), ("loop_app", "survey_api")):
        answer = await clients[name].post("/internal/v1/events", json=batch, headers=service_headers(service))
        assert answer.status_code == 200, answer.text
    cases = await ok(await clients["loop_app"].get("/v1/cases", headers=auth(scopes="cases:read")), 200)
    for case in cases["items"]:
        region = next(r for r, u in REGIONS.items() if case["unit"] == u)
        markers[region].add(case["id"])
    assert sum(len(m) for m in markers.values()) == 9  # a response, a contact and a case per region
    return markers


def _gets(app: FastAPI, ids: list[str]) -> list[str]:
    """Every GET path of the app's document; a path with ids once per planted id."""
    paths = []
    for path, operations in app.openapi()["paths"].items():
        if "get" not in operations or SKIP.search(path):
            continue
        if "{" not in path:
            paths.append(path)
            continue
        paths += [re.sub(r"\{[^}]+\}", planted, path) for planted in ids]
    return paths


async def _answers(
    apps: dict[str, FastAPI], clients: dict[str, httpx.AsyncClient], headers: dict[str, str], ids: list[str]
) -> list[tuple[str, str]]:
    """Every GET of every service with these headers: (what was asked, what came back)."""
    answers = []
    for name, app in apps.items():
        for path in _gets(app, ids):
            answer = await clients[name].get(path, headers=headers)
            assert answer.status_code < 500, f"{name} GET {path}: {answer.status_code}"
            answers.append((f"{name} GET {path} → {answer.status_code}", answer.text))
    return answers


async def test_nothing_outside_the_units_leaks(apps: dict[str, FastAPI], auth: TokenFactory) -> None:
    clients = {name: client_for(app, name.removesuffix("_app")) for name, app in apps.items()}
    markers = await _plant(clients, auth)  # one dataset for every token shape
    every_id = sorted(m for ids in markers.values() for m in ids)
    leaks: list[str] = []
    for units in SHAPES:
        hidden = {m for region, ids in markers.items() if not _sees(units, REGIONS[region]) for m in ids}
        answers = await _answers(apps, clients, auth(scopes=" ".join(READ), units=units), every_id)
        leaks += [
            f"{units}: {asked} names {m}" for asked, text in answers for m in hidden if m in text and m not in asked
        ]
        listed = {m for asked, text in answers if "{" not in asked for m in every_id if m in text and m not in asked}
        assert listed >= set(every_id) - hidden, f"{units}: the GETs did not reach the data they may see"
    for client in clients.values():
        await client.aclose()
    assert not leaks, "\n".join(sorted(leaks))
