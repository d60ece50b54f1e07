"""The duplicate check stays inside the caller's units: another unit's response is neither returned nor named."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TokenFactory
from tests.survey_api.helpers import ALL, make_units, ok, published_survey
from tests.survey_api.test_responses import response_body


async def _amer_response(client: httpx.AsyncClient, auth: TokenFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    headers = auth(**ALL)
    await make_units(client, headers, "emea", "emea/de", "amer")
    survey = await published_survey(client, headers)
    body = response_body(
        survey,
        external_id="secret-1",
        contact={"external_id": "c-9", "unit": "amer", "attributes": {"tier": "platinum"}},
    )
    stored = await ok(await client.post("/v1/responses", json=body, headers=headers))
    return survey, stored


def _leaks(text: str, stored: dict[str, Any]) -> bool:
    return stored["id"] in text or "platinum" in text or "late" in text or stored["contact_id"] in text


async def test_single_post_of_another_units_external_id(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    survey, stored = await _amer_response(survey_client, auth)
    emea = auth(units=["emea"], **ALL)
    same = response_body(survey, external_id="secret-1", unit="emea/de", contact=None)
    answer = await survey_client.post("/v1/responses", json=same, headers=emea)
    assert answer.status_code == 409
    assert not _leaks(answer.text, stored)
    other = response_body(survey, external_id="secret-1", unit="emea/de", contact=None, answers={"nps": 9})
    answer = await survey_client.post("/v1/responses", json=other, headers=emea)
    assert answer.status_code == 409 and not _leaks(answer.text, stored)
    # writing into a unit the caller may not write is 403 before any lookup
    into_amer = response_body(survey, external_id="secret-1", unit="amer", contact=None)
    answer = await survey_client.post("/v1/responses", json=into_amer, headers=emea)
    assert answer.status_code == 403 and not _leaks(answer.text, stored)
    via_contact = response_body(survey, external_id="secret-1", contact={"external_id": "c-9", "unit": "amer"})
    answer = await survey_client.post("/v1/responses", json=via_contact, headers=emea)
    assert answer.status_code == 403 and not _leaks(answer.text, stored)
    # the owner of the unit still gets the stored response back
    amer = auth(units=["amer"], **ALL)
    mine = response_body(survey, external_id="secret-1", unit="amer", contact=None)
    again = await ok(await survey_client.post("/v1/responses", json=mine, headers=amer), 200)
    assert again["id"] == stored["id"]


async def test_batch_post_of_another_units_external_id(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    survey, stored = await _amer_response(survey_client, auth)
    emea = auth(units=["emea"], **ALL)
    items = [
        response_body(survey, external_id="secret-1", unit="emea/de", contact=None),
        response_body(survey, external_id="secret-1", unit="amer", contact=None),
        response_body(survey, external_id="fresh-1", unit="emea/de", contact=None),
    ]
    answer = await survey_client.post("/v1/responses/batch", json={"items": items}, headers=emea)
    body = await ok(answer, 200)
    assert not _leaks(answer.text, stored)
    assert body["accepted"] == 1 and body["duplicates"] == 0
    assert [r["index"] for r in body["rejected"]] == [0, 1]
    assert [i["index"] for i in body["items"]] == [2]
