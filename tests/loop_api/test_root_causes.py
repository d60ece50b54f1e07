"""`/v1/root-causes`: the root-cause taxonomy, with the five cases every endpoint has."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.conftest import TokenFactory

URL = "/v1/root-causes"
WRITE = "cases:read cases:write"
PROBLEM = "application/problem+json"


async def make_root_cause(
    client: httpx.AsyncClient, headers: dict[str, str], code: str, parent_code: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {"code": code, "parent_code": parent_code, "label": {"en": code.title()}, **extra}
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def make_tree(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """`delivery` with children `delivery.late` and `delivery.damaged`, and a second root `billing`."""
    tree = {}
    for code, parent in [
        ("delivery", None),
        ("delivery.late", "delivery"),
        ("delivery.damaged", "delivery"),
        ("billing", None),
    ]:
        tree[code] = await make_root_cause(client, headers, code, parent)
    return tree


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of an error response, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


class TestCreateRootCause:
    async def test_unauthenticated(self, loop_client: httpx.AsyncClient) -> None:
        response = await loop_client.post(URL, json={"code": "delivery", "label": {"en": "Delivery"}})
        problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_missing_scope(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await loop_client.post(
            URL, json={"code": "delivery", "label": {"en": "Delivery"}}, headers=auth(scopes="cases:read")
        )
        assert "cases:write" in problem(response, 403)["detail"]

    async def test_other_tenant(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        await make_root_cause(loop_client, auth(org="acme", scopes=WRITE), "delivery")
        globex = auth(org="globex", scopes=WRITE)
        child = {"code": "delivery.late", "parent_code": "delivery", "label": {"en": "Late"}}
        response = await loop_client.post(URL, json=child, headers=globex)
        assert problem(response, 422)["errors"][0]["field"] == "parent_code"
        same_code = await make_root_cause(loop_client, globex, "delivery")
        assert same_code["code"] == "delivery"

    async def test_not_found(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        body = {"code": "delivery.late", "parent_code": "delivery", "label": {"en": "Late"}}
        response = await loop_client.post(URL, json=body, headers=auth(scopes=WRITE))
        error = problem(response, 422)["errors"][0]
        assert error["field"] == "parent_code"
        assert error["code"] == "parent_missing"
        assert (await loop_client.get(URL, headers=auth(scopes=WRITE))).json()["items"] == []

    async def test_valid(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        root = await make_root_cause(loop_client, headers, "delivery")
        label = {"en": "Late delivery", "de": "Verspätete Lieferung", "pt-BR": "Entrega atrasada"}
        child = await make_root_cause(
            loop_client, headers, "delivery.late", "delivery", label=label, description="Arrived after the promise"
        )
        assert root["parent_code"] is None
        assert root["depth"] == 1
        assert root["active"] is True
        assert child["id"].startswith("rc_")
        assert child["code"] == "delivery.late"
        assert child["parent_code"] == "delivery"
        assert child["depth"] == 2
        assert child["label"] == label
        assert child["description"] == "Arrived after the promise"
        assert dt.datetime.fromisoformat(child["created_at"]).tzinfo is not None
        assert child["updated_at"] == child["created_at"]
        fetched = await loop_client.get(f"{URL}/{child['id']}", headers=headers)
        assert fetched.json() == child

    async def test_child_code_need_not_extend_parent(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_root_cause(loop_client, headers, "delivery")
        child = await make_root_cause(loop_client, headers, "courier_lost_parcel", "delivery")
        assert child["parent_code"] == "delivery"

    async def test_duplicate_code_is_conflict(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_root_cause(loop_client, headers, "delivery")
        again = await loop_client.post(URL, json={"code": "delivery", "label": {"en": "Again"}}, headers=headers)
        assert "delivery" in problem(again, 409)["detail"]

    async def test_depth_limit(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        parent = None
        for code in ["a", "a.b", "a.b.c", "a.b.c.d", "a.b.c.d.e"]:
            created = await make_root_cause(loop_client, headers, code, parent)
            parent = code
        assert created["depth"] == 5
        body = {"code": "too_deep", "parent_code": "a.b.c.d.e", "label": {"en": "Too deep"}}
        response = await loop_client.post(URL, json=body, headers=headers)
        error = problem(response, 422)["errors"][0]
        assert error["field"] == "parent_code"
        assert error["code"] == "too_deep"

    async def test_bad_label_language_key(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        body = {"code": "delivery", "label": {"EN": "Delivery"}}
        response = await loop_client.post(URL, json=body, headers=auth(scopes=WRITE))
        assert problem(response, 422)["errors"][0]["field"].startswith("label.EN")

    async def test_each_invalid_field_is_listed(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        body = {"code": "Delivery..late", "label": {}, "description": "x" * 2001, "color": "red"}
        response = await loop_client.post(URL, json=body, headers=auth(scopes=WRITE))
        assert {e["field"] for e in problem(response, 422)["errors"]} == {"code", "label", "description", "color"}

    async def test_label_limits(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        many = {f"a{chr(ord('a') + i)}": "x" for i in range(21)}
        for label in [many, {"en": ""}, {"en": "x" * 201}]:
            response = await loop_client.post(URL, json={"code": "delivery", "label": label}, headers=headers)
            assert problem(response, 422)["errors"][0]["field"].startswith("label")

    async def test_code_too_long(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        body = {"code": "a" * 65, "label": {"en": "Long"}}
        response = await loop_client.post(URL, json=body, headers=auth(scopes=WRITE))
        assert problem(response, 422)["errors"][0]["field"] == "code"

    async def test_active_child_of_retired_parent(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_root_cause(loop_client, headers, "legacy", active=False)
        body = {"code": "legacy.x", "parent_code": "legacy", "label": {"en": "X"}}
        assert "legacy" in problem(await loop_client.post(URL, json=body, headers=headers), 409)["detail"]
        retired = await make_root_cause(loop_client, headers, "legacy.x", "legacy", active=False)
        assert retired["active"] is False

    async def test_idempotency_key_replays(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = {**auth(scopes=WRITE), "Idempotency-Key": "create-delivery-1"}
        body = {"code": "delivery", "label": {"en": "Delivery"}}
        first = await loop_client.post(URL, json=body, headers=headers)
        second = await loop_client.post(URL, json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        listed = await loop_client.get(URL, headers=headers)
        assert [r["id"] for r in listed.json()["items"]] == [first.json()["id"]]


class TestGetRootCause:
    async def test_unauthenticated(self, loop_client: httpx.AsyncClient) -> None:
        problem(await loop_client.get(f"{URL}/rc_x"), 401)

    async def test_missing_scope(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await loop_client.get(f"{URL}/rc_x", headers=auth(scopes="cases:write"))
        assert "cases:read" in problem(response, 403)["detail"]

    async def test_other_tenant(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        created = await make_root_cause(loop_client, auth(org="acme", scopes=WRITE), "delivery")
        response = await loop_client.get(f"{URL}/{created['id']}", headers=auth(org="globex", scopes=WRITE))
        assert created["id"] in problem(response, 404)["detail"]

    async def test_not_found(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        problem(await loop_client.get(f"{URL}/rc_missing", headers=auth(scopes="cases:read")), 404)

    async def test_valid(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        created = await make_root_cause(loop_client, auth(scopes=WRITE), "delivery", description="Anything shipping")
        response = await loop_client.get(f"{URL}/{created['id']}", headers=auth(scopes="cases:read"))
        assert response.status_code == 200
        assert response.json() == created


class TestListRootCauses:
    async def test_unauthenticated(self, loop_client: httpx.AsyncClient) -> None:
        problem(await loop_client.get(URL), 401)

    async def test_missing_scope(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        problem(await loop_client.get(URL, headers=auth(scopes="metrics:read")), 403)

    async def test_other_tenant(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        await make_tree(loop_client, auth(org="acme", scopes=WRITE))
        response = await loop_client.get(URL, headers=auth(org="globex", scopes=WRITE))
        assert response.json() == {"items": [], "next_cursor": None}
        by_parent = await loop_client.get(URL, params={"parent_code": "delivery"}, headers=auth(org="globex"))
        assert by_parent.json()["items"] == []

    async def test_not_found(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_tree(loop_client, headers)
        response = await loop_client.get(URL, params={"parent_code": "nowhere"}, headers=headers)
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_valid(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        tree = await make_tree(loop_client, headers)
        response = await loop_client.get(URL, headers=auth(scopes="cases:read"))
        assert response.status_code == 200
        assert response.json() == {"items": list(tree.values()), "next_cursor": None}

    async def test_filters(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        tree = await make_tree(loop_client, headers)
        await make_root_cause(loop_client, headers, "late_fee", "billing")
        await make_root_cause(loop_client, headers, "latexfee", "billing")
        retire = await loop_client.patch(
            f"{URL}/{tree['delivery.late']['id']}", json={"active": False}, headers=headers
        )
        assert retire.status_code == 200

        async def codes(**params: Any) -> list[str]:
            response = await loop_client.get(URL, params=params, headers=headers)
            assert response.status_code == 200, response.text
            return [r["code"] for r in response.json()["items"]]

        assert await codes(parent_code="delivery") == ["delivery.late", "delivery.damaged"]
        assert await codes(active="false") == ["delivery.late"]
        assert await codes(active="true", parent_code="delivery") == ["delivery.damaged"]
        assert await codes(q="LATE") == ["delivery.late", "late_fee", "latexfee"]
        assert await codes(q="e_f") == ["late_fee"]
        assert await codes(q="y.d") == ["delivery.damaged"]
        assert await codes(q="LATE", active="true") == ["late_fee", "latexfee"]

    async def test_invalid_filters(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        for params, field in [({"parent_code": "Not A Code"}, "parent_code"), ({"cursor": "garbage"}, "cursor")]:
            response = await loop_client.get(URL, params=params, headers=headers)
            assert problem(response, 422)["errors"][0]["field"] == field

    async def test_pagination(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        created = [(await make_root_cause(loop_client, headers, f"code_{i:02d}"))["code"] for i in range(30)]
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
            page = (await loop_client.get(URL, params=params, headers=headers)).json()
            assert len(page["items"]) <= 7
            seen += [r["code"] for r in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == created
        assert pages == 5


class TestUpdateRootCause:
    async def test_unauthenticated(self, loop_client: httpx.AsyncClient) -> None:
        problem(await loop_client.patch(f"{URL}/rc_x", json={"active": False}), 401)

    async def test_missing_scope(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        created = await make_root_cause(loop_client, auth(scopes=WRITE), "delivery")
        response = await loop_client.patch(
            f"{URL}/{created['id']}", json={"active": False}, headers=auth(scopes="cases:read")
        )
        assert "cases:write" in problem(response, 403)["detail"]
        assert (await loop_client.get(f"{URL}/{created['id']}", headers=auth())).json()["active"] is True

    async def test_other_tenant(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        created = await make_root_cause(loop_client, auth(org="acme", scopes=WRITE), "delivery")
        response = await loop_client.patch(
            f"{URL}/{created['id']}", json={"active": False}, headers=auth(org="globex", scopes=WRITE)
        )
        problem(response, 404)
        assert (await loop_client.get(f"{URL}/{created['id']}", headers=auth())).json()["active"] is True

    async def test_not_found(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await loop_client.patch(f"{URL}/rc_missing", json={"active": False}, headers=auth(scopes=WRITE))
        problem(response, 404)

    async def test_valid(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        created = await make_root_cause(loop_client, headers, "delivery", description="Old")
        label = {"en": "Delivery problems", "fr": "Problèmes de livraison"}
        response = await loop_client.patch(f"{URL}/{created['id']}", json={"label": label}, headers=headers)
        assert response.status_code == 200
        updated = response.json()
        assert updated["label"] == label
        assert updated["description"] == "Old"
        assert {k: v for k, v in updated.items() if k not in ("label", "updated_at")} == {
            k: v for k, v in created.items() if k not in ("label", "updated_at")
        }
        assert dt.datetime.fromisoformat(updated["updated_at"]) > dt.datetime.fromisoformat(created["updated_at"])
        cleared = await loop_client.patch(f"{URL}/{created['id']}", json={"description": None}, headers=headers)
        assert cleared.json()["description"] is None
        assert (await loop_client.get(f"{URL}/{created['id']}", headers=headers)).json() == cleared.json()

    async def test_code_and_parent_are_immutable(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        tree = await make_tree(loop_client, headers)
        target = f"{URL}/{tree['delivery.late']['id']}"
        for body, field in [({"code": "delivery.slow"}, "code"), ({"parent_code": "billing"}, "parent_code")]:
            response = await loop_client.patch(target, json=body, headers=headers)
            error = problem(response, 422)["errors"][0]
            assert (error["field"], error["code"]) == (field, "extra_forbidden")
        assert (await loop_client.get(target, headers=headers)).json() == tree["delivery.late"]

    async def test_label_and_active_cannot_be_null(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        created = await make_root_cause(loop_client, headers, "delivery")
        for body, field in [({"label": None}, "label"), ({"active": None}, "active"), ({"label": {}}, "label")]:
            response = await loop_client.patch(f"{URL}/{created['id']}", json=body, headers=headers)
            assert problem(response, 422)["errors"][0]["field"] == field

    async def test_retire_parent_with_active_children(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        tree = await make_tree(loop_client, headers)
        response = await loop_client.patch(f"{URL}/{tree['delivery']['id']}", json={"active": False}, headers=headers)
        detail = problem(response, 409)["detail"]
        assert "delivery.late" in detail
        assert "delivery.damaged" in detail
        assert (await loop_client.get(f"{URL}/{tree['delivery']['id']}", headers=headers)).json()["active"] is True

    async def test_retire_children_then_parent(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        tree = await make_tree(loop_client, headers)
        for code in ["delivery.late", "delivery.damaged", "delivery"]:
            response = await loop_client.patch(f"{URL}/{tree[code]['id']}", json={"active": False}, headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["active"] is False
        retired = await loop_client.get(URL, params={"active": "false"}, headers=headers)
        assert [r["code"] for r in retired.json()["items"]] == ["delivery", "delivery.late", "delivery.damaged"]

    async def test_reactivate_child_of_retired_parent(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        tree = await make_tree(loop_client, headers)
        late, parent = f"{URL}/{tree['delivery.late']['id']}", f"{URL}/{tree['delivery']['id']}"
        for target in [late, f"{URL}/{tree['delivery.damaged']['id']}", parent]:
            assert (await loop_client.patch(target, json={"active": False}, headers=headers)).status_code == 200
        assert (
            "delivery" in problem(await loop_client.patch(late, json={"active": True}, headers=headers), 409)["detail"]
        )
        assert (await loop_client.patch(parent, json={"active": True}, headers=headers)).json()["active"] is True
        assert (await loop_client.patch(late, json={"active": True}, headers=headers)).json()["active"] is True
