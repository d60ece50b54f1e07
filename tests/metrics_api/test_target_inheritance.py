"""Targets apply down the unit tree (unless a deeper unit has its own), to question-filtered requests of the
same metric, to their audience only, and ride on league rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import nps_scores, scored


async def _target(client: httpx.AsyncClient, auth: TokenFactory, **body: Any) -> str:
    year = dt.date.today().year
    body = {"metric": "nps", "period_start": f"{year - 1}-01-01", "period_end": f"{year + 1}-12-31", **body}
    response = await client.post("/v1/targets", json=body, headers=auth(scopes="admin"))
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


async def _org(ingest: Ingest) -> None:
    await ingest(scored(nps_scores(6, 2, 2), unit="emea/de/berlin"))  # NPS 40
    await ingest(scored(nps_scores(3, 3, 4), unit="amer/us"))  # NPS -10


async def test_a_unit_target_applies_to_its_subtree_unless_a_deeper_unit_has_one(
    ingest: Ingest, read: Read, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await _org(ingest)
    org = await _target(metrics_client, auth, value=0)
    emea = await _target(metrics_client, auth, unit="emea", value=50)
    berlin = await read("nps", unit="emea/de/berlin", include="target")
    assert berlin["target"] == {"id": emea, "value": 50.0, "name": None, "met": False}
    us = await read("nps", unit="amer/us", include="target")
    assert us["target"] == {"id": org, "value": 0.0, "name": None, "met": False}
    deeper = await _target(metrics_client, auth, unit="emea/de", value=30)
    assert (await read("nps", unit="emea/de/berlin", include="target"))["target"]["id"] == deeper
    assert (await read("nps", unit="emea", include="target"))["target"]["id"] == emea


async def test_an_org_target_applies_to_a_question_filtered_request_unless_the_question_has_one(
    ingest: Ingest, read: Read, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await _org(ingest)
    org = await _target(metrics_client, auth, value=10)
    assert (await read("nps", question="nps", include="target"))["target"]["id"] == org
    own = await _target(metrics_client, auth, question="nps", value=20)
    assert (await read("nps", question="nps", include="target"))["target"]["id"] == own
    assert (await read("nps", include="target"))["target"]["id"] == org


async def test_league_rows_carry_their_target_and_whether_it_is_met(
    ingest: Ingest, read: Read, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await _org(ingest)
    await _target(metrics_client, auth, value=0)
    emea = await _target(metrics_client, auth, unit="emea", value=35)
    league = await read("nps", group_by="unit", include="target")
    rows = {g["key"]: g for g in league["groups"]}
    assert (rows["emea"]["value"], rows["emea"]["target"]["id"], rows["emea"]["target"]["met"]) == (40.0, emea, True)
    assert (rows["amer"]["value"], rows["amer"]["target"]["value"], rows["amer"]["target"]["met"]) == (
        -10.0,
        0.0,
        False,
    )


async def test_a_customer_target_does_not_apply_to_employees(
    ingest: Ingest, read: Read, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await ingest(scored(nps_scores(5, 0, 0), survey_id="srv_pulse", audience="employees"))
    await _target(metrics_client, auth, value=10)
    assert (await read("nps", audience="employees", include="target"))["target"] is None
    enps = await _target(metrics_client, auth, value=20, audience="employees")
    answer = await read("nps", audience="employees", include="target")
    assert answer["target"] == {"id": enps, "value": 20.0, "name": None, "met": True}
