"""The `units` claim: unit paths validated like those in bodies; an empty or root path grants nothing anywhere."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from shared.auth import SCOPES
from tests.conftest import TEST_SECRET, TokenFactory, client_for, service_headers
from tests.metrics_api.events import post_events, response_event

INVALID_UNITS: list[Any] = [[""], ["/"], ["emea/"], ["/emea"], ["EMEA"], [" emea"], ["a//b"], ["emea", ""], "emea"]
READS = {"survey_app": "/v1/units", "metrics_app": "/v1/metrics/nps", "loop_app": "/v1/cases"}


def token_with_units(units: Any) -> dict[str, str]:
    """A tenant's token (every scope) whose `units` claim is exactly `units`."""
    now = int(time.time())
    claims = {"sub": "x", "org": "acme", "scope": " ".join(SCOPES), "iss": "cxloop", "aud": "cxloop"}
    token = jwt.encode(claims | {"units": units, "iat": now, "exp": now + 600}, TEST_SECRET)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("service", list(READS))
async def test_invalid_unit_paths_in_a_token_are_refused(service: str, apps: dict[str, FastAPI]) -> None:
    async with client_for(apps[service], "svc") as client:
        for units in INVALID_UNITS:
            response = await client.get(READS[service], headers=token_with_units(units))
            assert response.status_code == 401, (units, response.text)
            assert "units" in response.json()["detail"]


async def test_no_units_sees_no_metrics_or_scorecards(metrics_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    await metrics_client.put("/v1/org-settings", json={"min_sample": 1}, headers=auth())
    events = [response_event({"nps": 10}, unit=unit) for unit in (None, "emea", "emea/de", "amer")]
    await post_events(metrics_client, service_headers(), events)
    org_wide = (await metrics_client.get("/v1/metrics/nps", headers=auth(scopes="metrics:read"))).json()
    assert org_wide["n"] == 4
    nothing = auth(scopes="metrics:read", units=[])
    metric = (await metrics_client.get("/v1/metrics/nps", headers=nothing)).json()
    assert (metric["n"], metric["value"]) == (0, None)
    grouped = await metrics_client.get("/v1/metrics/nps", params={"group_by": "unit"}, headers=nothing)
    assert grouped.status_code == 200 and all(g["n"] == 0 for g in grouped.json().get("groups", []))
    card = (await metrics_client.get("/v1/scorecards", headers=nothing)).json()
    assert card["responses"] == 0 and card["nps"]["n"] == 0
    emea = (await metrics_client.get("/v1/metrics/nps", headers=auth(scopes="metrics:read", units=["emea"]))).json()
    assert emea["n"] == 2


def test_cli_refuses_to_mint_invalid_units() -> None:
    from typer.testing import CliRunner

    from cxloop import cli

    result = CliRunner().invoke(cli.app, ["token", "--units", "EMEA"])
    assert result.exit_code == 2
    assert "not a unit path" in result.output
