"""`/v1/benchmarks`: external reference values, with the five cases of every endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory

WRITE = "admin metrics:read"
READ = "metrics:read"
Client = httpx.AsyncClient


def body(**overrides: Any) -> dict[str, Any]:
    return {"metric": "nps", "value": 32.5, "name": "Retail banking DE 2026", "source": "Industry study", **overrides}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    return document


async def make(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/benchmarks", json=body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def ids(client: Client, headers: dict[str, str], **params: str) -> list[str]:
    response = await client.get("/v1/benchmarks", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


class TestCreate:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        problem(await metrics_client.post("/v1/benchmarks", json=body()), 401)

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        response = await metrics_client.post("/v1/benchmarks", json=body(), headers=auth(scopes=READ))
        assert "admin" in problem(response, 403)["detail"]

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory) -> None:
        created = await make(metrics_client, auth(org="acme", scopes=WRITE))
        assert await ids(metrics_client, auth(org="globex", scopes=READ)) == []
        assert await ids(metrics_client, auth(org="acme", scopes=READ)) == [created["id"]]

    async def test_valid(self, metrics_client: Client, auth: TokenFactory) -> None:
        created = await make(metrics_client, auth(scopes=WRITE), unit="emea/de", touchpoint_id="tp_shop")
        assert created["id"].startswith("bmk_")
        assert {k: created[k] for k in body()} == body()
        assert (created["unit"], created["touchpoint_id"]) == ("emea/de", "tp_shop")

    @pytest.mark.parametrize(("metric", "value"), [("nps", 101), ("csat", -1), ("response_rate", 100.5), ("ces", 11)])
    async def test_value_outside_the_metric_range(
        self, metrics_client: Client, auth: TokenFactory, metric: str, value: float
    ) -> None:
        response = await metrics_client.post("/v1/benchmarks", json=body(metric=metric, value=value), headers=auth())
        assert problem(response, 422)["errors"][0]["field"] == "value"

    async def test_invalid_fields(self, metrics_client: Client, auth: TokenFactory) -> None:
        bad = body(metric="wow", name="", unit="EMEA", colour="red")
        response = await metrics_client.post("/v1/benchmarks", json=bad, headers=auth())
        assert {e["field"] for e in problem(response, 422)["errors"]} == {"metric", "name", "unit", "colour"}

    async def test_unit_restricted_token(self, metrics_client: Client, auth: TokenFactory) -> None:
        restricted = auth(scopes=WRITE, units=["emea"])
        await make(metrics_client, restricted, unit="emea/de")
        problem(await metrics_client.post("/v1/benchmarks", json=body(unit="amer"), headers=restricted), 403)
        problem(await metrics_client.post("/v1/benchmarks", json=body(), headers=restricted), 403)

    async def test_idempotent_retry(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = {**auth(scopes=WRITE), "Idempotency-Key": "bmk-1"}
        first = await metrics_client.post("/v1/benchmarks", json=body(), headers=headers)
        again = await metrics_client.post("/v1/benchmarks", json=body(), headers=headers)
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"


class TestList:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        problem(await metrics_client.get("/v1/benchmarks"), 401)

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        problem(await metrics_client.get("/v1/benchmarks", headers=auth(scopes="admin")), 403)

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory) -> None:
        await make(metrics_client, auth(scopes=WRITE))
        assert await ids(metrics_client, auth(org="globex", scopes=READ)) == []

    async def test_empty(self, metrics_client: Client, auth: TokenFactory) -> None:
        await make(metrics_client, auth(scopes=WRITE))
        assert await ids(metrics_client, auth(scopes=READ), metric="ces") == []

    async def test_valid_with_filters_and_units(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        org = (await make(metrics_client, headers))["id"]
        de = (await make(metrics_client, headers, unit="emea/de"))["id"]
        csat = (await make(metrics_client, headers, metric="csat", value=80, unit="emea"))["id"]
        amer = (await make(metrics_client, headers, unit="amer"))["id"]
        assert await ids(metrics_client, headers) == [org, de, csat, amer]
        assert await ids(metrics_client, headers, metric="csat") == [csat]
        assert await ids(metrics_client, headers, unit="emea/de") == [de]
        # A restricted token reads its units' benchmarks and the org-wide ones.
        assert await ids(metrics_client, auth(scopes=READ, units=["emea"])) == [org, de, csat]

    async def test_pagination(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        created = [(await make(metrics_client, headers, value=v))["id"] for v in range(5)]
        page = (await metrics_client.get("/v1/benchmarks", params={"limit": 3}, headers=headers)).json()
        rest = await metrics_client.get(
            "/v1/benchmarks", params={"limit": 3, "cursor": page["next_cursor"]}, headers=headers
        )
        assert [i["id"] for i in page["items"] + rest.json()["items"]] == created


class TestGet:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        problem(await metrics_client.get("/v1/benchmarks/bmk_x"), 401)

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        problem(await metrics_client.get("/v1/benchmarks/bmk_x", headers=auth(scopes="admin")), 403)

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory) -> None:
        created = await make(metrics_client, auth(scopes=WRITE))
        problem(
            await metrics_client.get(f"/v1/benchmarks/{created['id']}", headers=auth(org="globex", scopes=READ)), 404
        )

    async def test_not_found(self, metrics_client: Client, auth: TokenFactory) -> None:
        assert (
            "bmk_missing"
            in problem(await metrics_client.get("/v1/benchmarks/bmk_missing", headers=auth()), 404)["detail"]
        )

    async def test_valid(self, metrics_client: Client, auth: TokenFactory) -> None:
        created = await make(metrics_client, auth(scopes=WRITE))
        response = await metrics_client.get(f"/v1/benchmarks/{created['id']}", headers=auth(scopes=READ))
        assert (response.status_code, response.json()) == (200, created)

    async def test_unit_restricted_token(self, metrics_client: Client, auth: TokenFactory) -> None:
        amer = await make(metrics_client, auth(scopes=WRITE), unit="amer")
        problem(
            await metrics_client.get(f"/v1/benchmarks/{amer['id']}", headers=auth(scopes=READ, units=["emea"])), 404
        )


class TestDelete:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        problem(await metrics_client.delete("/v1/benchmarks/bmk_x"), 401)

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        created = await make(metrics_client, auth(scopes=WRITE))
        problem(await metrics_client.delete(f"/v1/benchmarks/{created['id']}", headers=auth(scopes=READ)), 403)

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory) -> None:
        created = await make(metrics_client, auth(scopes=WRITE))
        problem(await metrics_client.delete(f"/v1/benchmarks/{created['id']}", headers=auth(org="globex")), 404)
        assert await ids(metrics_client, auth()) == [created["id"]]

    async def test_not_found(self, metrics_client: Client, auth: TokenFactory) -> None:
        problem(await metrics_client.delete("/v1/benchmarks/bmk_missing", headers=auth()), 404)

    async def test_valid(self, metrics_client: Client, auth: TokenFactory) -> None:
        created = await make(metrics_client, auth(scopes=WRITE))
        url = f"/v1/benchmarks/{created['id']}"
        response = await metrics_client.delete(url, headers=auth(scopes=WRITE))
        assert (response.status_code, response.content) == (204, b"")
        problem(await metrics_client.get(url, headers=auth()), 404)

    async def test_unit_restricted_token(self, metrics_client: Client, auth: TokenFactory) -> None:
        org_wide = await make(metrics_client, auth(scopes=WRITE))
        inside = await make(metrics_client, auth(scopes=WRITE), unit="emea/de")
        restricted = auth(scopes=WRITE, units=["emea"])
        problem(await metrics_client.delete(f"/v1/benchmarks/{org_wide['id']}", headers=restricted), 403)
        assert (await metrics_client.delete(f"/v1/benchmarks/{inside['id']}", headers=restricted)).status_code == 204
