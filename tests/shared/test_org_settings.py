"""`GET/PUT /v1/org-settings`: each service keeps the per-org settings it uses."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from tests.conftest import TokenFactory, client_for

DEFAULTS: dict[str, dict[str, Any]] = {
    "survey_app": {
        "contact_frequency_days": 30,
        "default_languages": ["en"],
        "followup_survey_id": None,
        "followup_channel": "auto",
    },
    "metrics_app": {"timezone": "UTC", "min_sample": 5},
    "loop_app": {
        "business_hours": {"timezone": "UTC", "days": [1, 2, 3, 4, 5], "start": "09:00:00", "end": "17:00:00"},
        "default_sla_first_contact_hours": 48,
        "default_sla_resolution_hours": 168,
    },
}
CHANGES: dict[str, dict[str, Any]] = {
    "survey_app": {
        "contact_frequency_days": 14,
        "default_languages": ["en", "de"],
        "followup_survey_id": None,
        "followup_channel": "email",
    },
    "metrics_app": {"timezone": "Europe/Berlin", "min_sample": 10},
    "loop_app": {
        "business_hours": {
            "timezone": "Europe/Berlin",
            "days": [1, 2, 3, 4, 5, 6],
            "start": "08:00:00",
            "end": "18:00:00",
        },
        "default_sla_first_contact_hours": 24,
        "default_sla_resolution_hours": 72,
    },
}
INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "survey_app": ({"contact_frequency_days": -1}, "contact_frequency_days"),
    "metrics_app": ({"timezone": "Mars/Olympus"}, "timezone"),
    "loop_app": ({"default_sla_first_contact_hours": 0}, "default_sla_first_contact_hours"),
}


@pytest.mark.parametrize("fixture", list(DEFAULTS))
async def test_defaults_then_saved_per_org(fixture: str, apps: dict[str, FastAPI], auth: TokenFactory) -> None:
    app = apps[fixture]
    async with client_for(app, "svc") as client:
        assert (await client.get("/v1/org-settings", headers=auth(scopes="admin"))).json() == DEFAULTS[fixture]
        saved = await client.put("/v1/org-settings", json=CHANGES[fixture], headers=auth(scopes="admin"))
        assert saved.status_code == 200
        assert saved.json() == CHANGES[fixture]
        assert (await client.get("/v1/org-settings", headers=auth(scopes="admin"))).json() == CHANGES[fixture]
        other_org = await client.get("/v1/org-settings", headers=auth(org="globex", scopes="admin"))
        assert other_org.json() == DEFAULTS[fixture]


@pytest.mark.parametrize("fixture", list(DEFAULTS))
async def test_needs_admin(fixture: str, apps: dict[str, FastAPI], auth: TokenFactory) -> None:
    app = apps[fixture]
    async with client_for(app, "svc") as client:
        assert (await client.get("/v1/org-settings")).status_code == 401
        everything_but_admin = "surveys:write metrics:read cases:write"
        response = await client.put(
            "/v1/org-settings", json=CHANGES[fixture], headers=auth(scopes=everything_but_admin)
        )
        assert response.status_code == 403


@pytest.mark.parametrize("fixture", list(INVALID))
async def test_invalid_setting_is_422_naming_it(fixture: str, apps: dict[str, FastAPI], auth: TokenFactory) -> None:
    app = apps[fixture]
    body, field = INVALID[fixture]
    async with client_for(app, "svc") as client:
        response = await client.put("/v1/org-settings", json=body, headers=auth(scopes="admin"))
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == [field]
        assert (await client.get("/v1/org-settings", headers=auth(scopes="admin"))).json() == DEFAULTS[fixture]
