"""`/v1/targets`: goals per metric and scope, with the five cases every endpoint has and the target rules."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from unittest.mock import ANY

import httpx
import pytest

from tests.conftest import TokenFactory

WRITE = "admin metrics:read"
READ = "metrics:read"
PROBLEM = "application/problem+json"
Client = httpx.AsyncClient
# CES accepts 0..10 (not just the default 1..7) so that orgs on another CES scale can set goals.
OUTSIDE = {"nps": (100.5, -101), "csat": (-1, 101), "ces": (10.5, -0.1), "response_rate": (100.01, -5)}
BOUNDS = {"nps": (-100, 100), "csat": (0, 100), "ces": (0, 7, 10), "response_rate": (0, 100)}


def cases(values: Mapping[str, tuple[float, ...]]) -> list[tuple[str, float]]:
    """(metric, value) pairs to parametrize over."""
    return [(metric, value) for metric, of_metric in values.items() for value in of_metric]


def target_body(**overrides: Any) -> dict[str, Any]:
    """A valid create body: the NPS goal of `emea` for 2027, with `overrides` applied."""
    body: dict[str, Any] = {
        "metric": "nps",
        "unit": "emea",
        "value": 45,
        "period_start": "2027-01-01",
        "period_end": "2027-12-31",
    }
    return {**body, **overrides}


def year(y: int) -> dict[str, str]:
    """The period of a calendar year."""
    return {"period_start": f"{y}-01-01", "period_end": f"{y}-12-31"}


async def make_target(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/targets", json=target_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of an error response, after checking its status and content type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def list_ids(client: Client, headers: dict[str, str], **params: str) -> list[str]:
    response = await client.get("/v1/targets", params={**params, "limit": "500"}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


class TestCreateTarget:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        response = await metrics_client.post("/v1/targets", json=target_body())
        problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        response = await metrics_client.post("/v1/targets", json=target_body(), headers=auth(scopes=READ))
        assert "admin" in problem(response, 403)["detail"]

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory) -> None:
        # The same goal in another org neither conflicts nor shows up there.
        acme = await make_target(metrics_client, auth(org="acme", scopes=WRITE))
        globex = await make_target(metrics_client, auth(org="globex", scopes=WRITE))
        assert await list_ids(metrics_client, auth(org="globex", scopes=READ)) == [globex["id"]]
        assert await list_ids(metrics_client, auth(org="acme", scopes=READ)) == [acme["id"]]

    async def test_valid(self, metrics_client: Client, auth: TokenFactory) -> None:
        body = target_body(survey_id="srv_1", touchpoint_id="tp_checkout", question="nps_main", name="NPS 2027")
        response = await metrics_client.post("/v1/targets", json=body, headers=auth(scopes=WRITE))
        assert (response.status_code, response.headers["content-type"]) == (201, "application/json")
        created = response.json()
        assert created["id"].startswith("tgt_")
        assert {k: created[k] for k in body} == {**body, "value": 45.0}
        assert created["created_at"] == created["updated_at"]
        fetched = await metrics_client.get(f"/v1/targets/{created['id']}", headers=auth(scopes=READ))
        assert fetched.json() == created

    async def test_idempotent_retry(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = {**auth(scopes=WRITE), "Idempotency-Key": "create-nps-2027"}
        first = await metrics_client.post("/v1/targets", json=target_body(), headers=headers)
        again = await metrics_client.post("/v1/targets", json=target_body(), headers=headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert await list_ids(metrics_client, auth(scopes=READ)) == [first.json()["id"]]

    async def test_overlap_is_conflict(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_target(metrics_client, headers)
        overlapping = target_body(period_start="2027-12-31", period_end="2028-06-30", value=50)
        response = await metrics_client.post("/v1/targets", json=overlapping, headers=headers)
        assert "overlapping" in problem(response, 409)["detail"]
        assert len(await list_ids(metrics_client, headers)) == 1

    async def test_other_scope_is_allowed(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        # Each differs from the first in the period (adjacent, not overlapping), the metric or one scope field.
        others: list[dict[str, Any]] = [year(2028), {"metric": "csat"}, {"unit": None}, {"unit": "emea/de"}]
        others += [{"survey_id": "srv_1"}, {"survey_id": "srv_1", "question": "nps_main"}, {"touchpoint_id": "tp_1"}]
        for overrides in [{}, *others]:
            await make_target(metrics_client, headers, **overrides)
        assert len(await list_ids(metrics_client, headers)) == 8

    async def test_concurrent_overlapping_creates(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        responses = await asyncio.gather(
            *(metrics_client.post("/v1/targets", json=target_body(value=v), headers=headers) for v in (40, 50))
        )
        assert sorted(r.status_code for r in responses) == [201, 409]
        assert len(await list_ids(metrics_client, headers)) == 1

    @pytest.mark.parametrize(("metric", "value"), cases(OUTSIDE))
    async def test_value_outside(self, metrics_client: Client, auth: TokenFactory, metric: str, value: float) -> None:
        body = target_body(metric=metric, value=value)
        response = await metrics_client.post("/v1/targets", json=body, headers=auth(scopes=WRITE))
        assert problem(response, 422)["errors"][0] == {"field": "value", "message": ANY, "code": "out_of_range"}

    @pytest.mark.parametrize(("metric", "value"), cases(BOUNDS))
    async def test_value_at_bounds(self, metrics_client: Client, auth: TokenFactory, metric: str, value: float) -> None:
        created = await make_target(metrics_client, auth(scopes=WRITE), metric=metric, value=value)
        assert created["value"] == value

    async def test_period_reversed(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        body = target_body(period_start="2027-06-01", period_end="2027-05-31")
        response = await metrics_client.post("/v1/targets", json=body, headers=headers)
        assert problem(response, 422)["errors"][0]["field"] == "period_end"
        one_day = await make_target(metrics_client, headers, period_start="2027-06-01", period_end="2027-06-01")
        assert one_day["period_start"] == one_day["period_end"] == "2027-06-01"

    async def test_each_invalid_field_is_listed(self, metrics_client: Client, auth: TokenFactory) -> None:
        body = target_body(
            metric="promoters", unit="EMEA", survey_id="s" * 65, question="Q1", name="x" * 201, color="red"
        )
        response = await metrics_client.post("/v1/targets", json=body, headers=auth(scopes=WRITE))
        fields = {e["field"] for e in problem(response, 422)["errors"]}
        assert fields == {"metric", "unit", "survey_id", "question", "name", "color"}

    async def test_unit_restricted_token(self, metrics_client: Client, auth: TokenFactory) -> None:
        restricted = auth(scopes=WRITE, units=["emea"])
        inside = await make_target(metrics_client, restricted, unit="emea/de")
        assert inside["unit"] == "emea/de"
        outside = await metrics_client.post("/v1/targets", json=target_body(unit="amer"), headers=restricted)
        assert "emea" in problem(outside, 403)["detail"]
        org_wide = await metrics_client.post("/v1/targets", json=target_body(unit=None), headers=restricted)
        assert "org-wide" in problem(org_wide, 403)["detail"]


class TestListTargets:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        problem(await metrics_client.get("/v1/targets"), 401)

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        response = await metrics_client.get("/v1/targets", headers=auth(scopes="admin"))
        assert "metrics:read" in problem(response, 403)["detail"]

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory) -> None:
        await make_target(metrics_client, auth(org="acme", scopes=WRITE))
        response = await metrics_client.get("/v1/targets", headers=auth(org="globex", scopes=READ))
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_not_found(self, metrics_client: Client, auth: TokenFactory) -> None:
        # A filter that matches nothing is an empty page, not a 404.
        await make_target(metrics_client, auth(scopes=WRITE))
        response = await metrics_client.get("/v1/targets", params={"unit": "apac"}, headers=auth(scopes=READ))
        assert (response.status_code, response.json()) == (200, {"items": [], "next_cursor": None})

    async def test_valid(self, metrics_client: Client, auth: TokenFactory) -> None:
        created = await make_target(metrics_client, auth(scopes=WRITE))
        response = await metrics_client.get("/v1/targets", headers=auth(scopes=READ))
        assert (response.status_code, response.json()) == (200, {"items": [created], "next_cursor": None})

    async def test_filters(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        nps_emea = (await make_target(metrics_client, headers))["id"]
        nps_de = (await make_target(metrics_client, headers, unit="emea/de"))["id"]
        csat_emea = (await make_target(metrics_client, headers, metric="csat", value=80))["id"]
        q3 = {"period_start": "2027-07-01", "period_end": "2027-09-30"}
        nps_emea_2026 = (await make_target(metrics_client, headers, **year(2026)))["id"]
        nps_org_q3 = (await make_target(metrics_client, headers, unit=None, **q3))["id"]

        async def ids(**params: str) -> set[str]:
            return set(await list_ids(metrics_client, headers, **params))

        assert await ids(metric="csat") == {csat_emea}
        assert await ids(metric="nps") == {nps_emea, nps_de, nps_emea_2026, nps_org_q3}
        assert await ids(unit="emea") == {nps_emea, csat_emea, nps_emea_2026}
        assert await ids(unit="emea/de") == {nps_de}
        assert await ids(active_on="2027-08-15") == {nps_emea, nps_de, csat_emea, nps_org_q3}
        assert await ids(active_on="2026-12-31") == {nps_emea_2026}
        for edge in ("2027-07-01", "2027-09-30"):  # both ends of a period lie inside it
            assert await ids(active_on=edge) == {nps_emea, nps_de, csat_emea, nps_org_q3}
        assert await ids(active_on="2027-10-01") == {nps_emea, nps_de, csat_emea}
        assert await ids(active_on="2025-06-01") == set()
        assert await ids(metric="nps", unit="emea", active_on="2027-01-01") == {nps_emea}

    async def test_invalid_filters(self, metrics_client: Client, auth: TokenFactory) -> None:
        params = {"metric": "promoters", "unit": "EMEA", "active_on": "someday"}
        response = await metrics_client.get("/v1/targets", params=params, headers=auth(scopes=READ))
        assert {e["field"] for e in problem(response, 422)["errors"]} == {"metric", "unit", "active_on"}

    async def test_pagination(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        created = [(await make_target(metrics_client, headers, **year(y)))["id"] for y in range(2000, 2030)]
        seen: list[str] = []
        sizes: list[int] = []
        params: dict[str, str] = {"limit": "7"}
        while True:
            page = (await metrics_client.get("/v1/targets", params=params, headers=headers)).json()
            seen += [item["id"] for item in page["items"]]
            sizes.append(len(page["items"]))
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert sizes == [7, 7, 7, 7, 2]
        # Each exactly once, in creation order (ids are monotonic within a process).
        assert seen == created

    async def test_unit_restricted_token(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        emea = (await make_target(metrics_client, headers))["id"]
        de = (await make_target(metrics_client, headers, unit="emea/de"))["id"]
        await make_target(metrics_client, headers, unit="amer")
        await make_target(metrics_client, headers, unit="emeax")
        await make_target(metrics_client, headers, unit=None)
        assert await list_ids(metrics_client, auth(scopes=READ, units=["emea"])) == sorted([emea, de])
        assert await list_ids(metrics_client, auth(scopes=READ, units=["emea/de"])) == [de]


class TestGetTarget:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        problem(await metrics_client.get("/v1/targets/tgt_x"), 401)

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        response = await metrics_client.get("/v1/targets/tgt_x", headers=auth(scopes="admin surveys:read"))
        assert "metrics:read" in problem(response, 403)["detail"]

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory) -> None:
        target = await make_target(metrics_client, auth(org="acme", scopes=WRITE))
        response = await metrics_client.get(f"/v1/targets/{target['id']}", headers=auth(org="globex", scopes=READ))
        problem(response, 404)

    async def test_not_found(self, metrics_client: Client, auth: TokenFactory) -> None:
        response = await metrics_client.get("/v1/targets/tgt_missing", headers=auth(scopes=READ))
        assert "tgt_missing" in problem(response, 404)["detail"]

    async def test_valid(self, metrics_client: Client, auth: TokenFactory) -> None:
        created = await make_target(metrics_client, auth(scopes=WRITE), name="EMEA NPS")
        response = await metrics_client.get(f"/v1/targets/{created['id']}", headers=auth(scopes=READ))
        assert (response.status_code, response.json()) == (200, created)

    async def test_unit_restricted_token(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        inside = await make_target(metrics_client, headers, unit="emea/de")
        outside = await make_target(metrics_client, headers, unit="amer")
        org_wide = await make_target(metrics_client, headers, unit=None)
        restricted = auth(scopes=READ, units=["emea"])
        assert (await metrics_client.get(f"/v1/targets/{inside['id']}", headers=restricted)).json() == inside
        for hidden in (outside, org_wide):
            problem(await metrics_client.get(f"/v1/targets/{hidden['id']}", headers=restricted), 404)


class TestUpdateTarget:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        problem(await metrics_client.patch("/v1/targets/tgt_x", json={"value": 50}), 401)

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        target = await make_target(metrics_client, auth(scopes=WRITE))
        url = f"/v1/targets/{target['id']}"
        response = await metrics_client.patch(url, json={"value": 50}, headers=auth(scopes=READ))
        assert "admin" in problem(response, 403)["detail"]

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory) -> None:
        target = await make_target(metrics_client, auth(org="acme", scopes=WRITE))
        url = f"/v1/targets/{target['id']}"
        problem(await metrics_client.patch(url, json={"value": 50}, headers=auth(org="globex", scopes=WRITE)), 404)
        assert (await metrics_client.get(url, headers=auth(org="acme", scopes=READ))).json()["value"] == 45

    async def test_not_found(self, metrics_client: Client, auth: TokenFactory) -> None:
        response = await metrics_client.patch("/v1/targets/tgt_missing", json={"value": 50}, headers=auth(scopes=WRITE))
        problem(response, 404)

    async def test_valid(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        target = await make_target(metrics_client, headers, name="old")
        change = {"name": "EMEA NPS H1", "value": 50.5, "period_start": "2027-01-01", "period_end": "2027-06-30"}
        response = await metrics_client.patch(f"/v1/targets/{target['id']}", json=change, headers=headers)
        assert response.status_code == 200
        updated = response.json()
        assert {k: updated[k] for k in change} == change
        assert (updated["metric"], updated["unit"], updated["created_at"]) == ("nps", "emea", target["created_at"])
        assert updated["updated_at"] > target["updated_at"]
        assert (await metrics_client.get(f"/v1/targets/{target['id']}", headers=headers)).json() == updated
        # A partial change keeps what it leaves out; an explicit null clears the name.
        cleared = await metrics_client.patch(f"/v1/targets/{target['id']}", json={"name": None}, headers=headers)
        assert cleared.json() == {**updated, "name": None, "updated_at": cleared.json()["updated_at"]}

    async def test_revalidates_value(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        target = await make_target(metrics_client, headers, metric="ces", value=5.5)
        url = f"/v1/targets/{target['id']}"
        response = await metrics_client.patch(url, json={"value": 10.5}, headers=headers)
        assert problem(response, 422)["errors"][0]["field"] == "value"
        assert (await metrics_client.get(url, headers=headers)).json() == target

    async def test_revalidates_period(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        target = await make_target(metrics_client, headers)
        url = f"/v1/targets/{target['id']}"
        # Only the end moves, to before the stored start: the merged period is what is checked.
        response = await metrics_client.patch(url, json={"period_end": "2026-12-31"}, headers=headers)
        assert problem(response, 422)["errors"][0]["field"] == "period_end"
        assert (await metrics_client.get(url, headers=headers)).json() == target

    async def test_null_for_a_required_field(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        target = await make_target(metrics_client, headers)
        body = {"value": None, "period_start": None, "metric": "csat"}
        response = await metrics_client.patch(f"/v1/targets/{target['id']}", json=body, headers=headers)
        assert {e["field"] for e in problem(response, 422)["errors"]} == {"value", "period_start", "metric"}

    async def test_overlap_after_move(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_target(metrics_client, headers)
        later = await make_target(metrics_client, headers, **year(2028))
        url = f"/v1/targets/{later['id']}"
        problem(await metrics_client.patch(url, json={"period_start": "2027-12-01"}, headers=headers), 409)
        # Moving within its own former period never conflicts with itself.
        moved = await metrics_client.patch(url, json={"period_end": "2028-06-30"}, headers=headers)
        assert moved.status_code == 200
        assert moved.json()["period_end"] == "2028-06-30"

    async def test_unit_restricted_token(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        inside = await make_target(metrics_client, headers, unit="emea/de")
        org_wide = await make_target(metrics_client, headers, unit=None)
        restricted = auth(scopes=WRITE, units=["emea"])
        ok = await metrics_client.patch(f"/v1/targets/{inside['id']}", json={"value": 1}, headers=restricted)
        assert ok.json()["value"] == 1
        hidden = await metrics_client.patch(f"/v1/targets/{org_wide['id']}", json={"value": 1}, headers=restricted)
        problem(hidden, 404)


class TestDeleteTarget:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        problem(await metrics_client.delete("/v1/targets/tgt_x"), 401)

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        target = await make_target(metrics_client, auth(scopes=WRITE))
        response = await metrics_client.delete(f"/v1/targets/{target['id']}", headers=auth(scopes=READ))
        problem(response, 403)

    async def test_other_tenant(self, metrics_client: Client, auth: TokenFactory) -> None:
        target = await make_target(metrics_client, auth(org="acme", scopes=WRITE))
        url = f"/v1/targets/{target['id']}"
        problem(await metrics_client.delete(url, headers=auth(org="globex", scopes=WRITE)), 404)
        assert (await metrics_client.get(url, headers=auth(org="acme", scopes=READ))).status_code == 200

    async def test_not_found(self, metrics_client: Client, auth: TokenFactory) -> None:
        problem(await metrics_client.delete("/v1/targets/tgt_missing", headers=auth(scopes=WRITE)), 404)

    async def test_valid(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        target = await make_target(metrics_client, headers)
        url = f"/v1/targets/{target['id']}"
        response = await metrics_client.delete(url, headers=headers)
        assert response.status_code == 204
        assert response.content == b""
        problem(await metrics_client.get(url, headers=headers), 404)
        problem(await metrics_client.delete(url, headers=headers), 404)
        # The period is free again for a new goal of the same scope.
        await make_target(metrics_client, headers)

    async def test_unit_restricted_token(self, metrics_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        outside = await make_target(metrics_client, headers, unit="amer")
        inside = await make_target(metrics_client, headers, unit="emea/de")
        restricted = auth(scopes=WRITE, units=["emea"])
        problem(await metrics_client.delete(f"/v1/targets/{outside['id']}", headers=restricted), 404)
        assert (await metrics_client.delete(f"/v1/targets/{inside['id']}", headers=restricted)).status_code == 204
        assert await list_ids(metrics_client, headers) == [outside["id"]]
