"""Strict query strings on every service: an unknown parameter, or a single-valued one repeated, is a 422."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI

from tests.conftest import TokenFactory, client_for

METHODS = ("get", "put", "post", "delete", "patch")
EXTRA = "zz_not_a_parameter"


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation in the app's OpenAPI document."""
    found = []
    for path, item in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        found += [(method, concrete) for method in item if method in METHODS]
    return found


@pytest.mark.parametrize("service", ["survey_app", "metrics_app", "loop_app"])
async def test_every_operation_refuses_an_unknown_query_parameter(
    service: str, apps: dict[str, FastAPI], auth: TokenFactory
) -> None:
    app = apps[service]
    operations = _operations(app)
    assert len(operations) > 5
    async with client_for(app, "strict") as client:
        for method, path in operations:
            response = await client.request(method.upper(), path, params={EXTRA: "1"}, headers=auth())
            assert response.status_code == 422, (method, path, response.status_code, response.text)
            body: dict[str, Any] = response.json()
            assert body["errors"][0]["field"] == EXTRA, (method, path, body)
            assert body["errors"][0]["code"] == "unknown_parameter"


async def test_metrics_attribute_parameters_stay_open_but_others_do_not(
    metrics_app: FastAPI, auth: TokenFactory
) -> None:
    async with client_for(metrics_app, "metrics") as client:
        attributes = [("attr.tier", "gold"), ("attr.tier", "silver")]
        ok = await client.get("/v1/metrics/nps", params=attributes, headers=auth())
        assert ok.status_code == 200, ok.text
        wrong = await client.get("/v1/metrics/nps", params={"audiences": "employees"}, headers=auth())
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "audiences"
        assert "audience" in wrong.json()["errors"][0]["message"]  # the message lists what the operation takes


async def test_a_repeated_single_valued_parameter_is_refused(metrics_app: FastAPI, auth: TokenFactory) -> None:
    async with client_for(metrics_app, "metrics") as client:
        response = await client.get(
            "/v1/metrics/nps", params=[("group_by", "unit"), ("group_by", "channel")], headers=auth()
        )
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "group_by",
        "message": "given more than once; it takes one value",
        "code": "repeated_parameter",
    }


async def test_loop_cases_refuse_an_unknown_filter(loop_app: FastAPI, auth: TokenFactory) -> None:
    async with client_for(loop_app, "loop") as client:
        response = await client.get("/v1/cases", params={"root_cause": "x"}, headers=auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "root_cause"
