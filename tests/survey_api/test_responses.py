"""Partner responses: accepted exactly once, checked precisely, pinned to their version, one event each."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlmodel import select

from services.survey_api.models import OutboxEvent
from services.survey_api.responses.models import SurveyResponse
from tests.conftest import TokenFactory
from tests.survey_api.helpers import ALL, NPS_PLUS, make_units, ok, published_survey


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**ALL)


@pytest.fixture
async def survey(survey_client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    await make_units(survey_client, headers, "emea", "emea/de", "emea/fr", "amer")
    return await published_survey(survey_client, headers)


def response_body(survey: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {
        "survey_id": survey["id"],
        "external_id": "order-1",
        "contact": {
            "external_id": "c-1",
            "email": "ann@example.com",
            "unit": "emea/de",
            "attributes": {"tier": "gold"},
        },
        "channel": "email",
        "answers": {
            "nps": 4,
            "why": "late",
            "reasons": ["delivery", "other"],
            "reasons_other": "rude",
            "csat_staff": 2,
        },
    }
    body.update(overrides)
    return body


async def events(app: FastAPI) -> list[OutboxEvent]:
    async with app.state.db.sessions() as session:
        return list((await session.exec(select(OutboxEvent).order_by(OutboxEvent.id))).all())


async def stored(app: FastAPI) -> list[SurveyResponse]:
    async with app.state.db.sessions() as session:
        return list((await session.exec(select(SurveyResponse))).all())


class TestCreateResponse:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient, survey: dict[str, Any]) -> None:
        assert (await survey_client.post("/v1/responses", json=response_body(survey))).status_code == 401

    async def test_missing_scope(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], auth: TokenFactory
    ) -> None:
        response = await survey_client.post(
            "/v1/responses", json=response_body(survey), headers=auth(scopes="responses:read contacts:write")
        )
        assert response.status_code == 403

    async def test_other_tenant(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], auth: TokenFactory
    ) -> None:
        response = await survey_client.post(
            "/v1/responses", json=response_body(survey), headers=auth(org="globex", **ALL)
        )
        assert response.status_code == 404

    async def test_not_found(self, survey_client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        response = await survey_client.post(
            "/v1/responses", json={"survey_id": "srv_missing", "answers": {"nps": 9}}, headers=headers
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_valid(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        created = await ok(await survey_client.post("/v1/responses", json=response_body(survey), headers=headers))
        assert created["survey_version"] == 1
        assert created["unit"] == "emea/de"  # from the contact
        assert created["attributes"] == {"tier": "gold"}
        assert created["touchpoint_id"] == survey["touchpoint_id"]
        assert created["finished"] is True and created["completed_at"] is not None
        assert created["contact_id"].startswith("ct")
        assert created["answers"]["reasons"] == ["delivery", "other"]
        assert await ok(await survey_client.get(f"/v1/responses/{created['id']}", headers=headers), 200) == created
        [event] = await events(survey_app)
        assert event.event_type == "response.completed"
        data = event.payload["data"]
        assert data["response_id"] == created["id"]
        assert data["unit"] == "emea/de" and data["channel"] == "email" and data["contact_id"] == created["contact_id"]
        assert {"key": "csat_staff", "kind": "csat", "scale_min": 1, "scale_max": 5} in data["questions"]
        assert data["answers"]["nps"] == 4 and data["attributes"] == {"tier": "gold"}

    async def test_anonymous(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        body = {"survey_id": survey["id"], "answers": {"nps": 10}}
        created = await ok(await survey_client.post("/v1/responses", json=body, headers=headers))
        assert (created["contact_id"], created["unit"], created["channel"]) == (None, None, "api")

    async def test_snapshot_keeps_attributes_at_answer_time(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        first = await ok(await survey_client.post("/v1/responses", json=response_body(survey), headers=headers))
        later_contact = {"external_id": "c-1", "attributes": {"tier": "silver"}}
        await ok(
            await survey_client.post(
                "/v1/responses",
                json=response_body(survey, external_id="order-2", contact=later_contact),
                headers=headers,
            )
        )
        again = await ok(await survey_client.get(f"/v1/responses/{first['id']}", headers=headers), 200)
        assert again["attributes"] == {"tier": "gold"}


class TestExactlyOnce:
    async def test_same_external_id_and_answers_is_found_not_stored(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        first = await ok(await survey_client.post("/v1/responses", json=response_body(survey), headers=headers))
        again = await ok(await survey_client.post("/v1/responses", json=response_body(survey), headers=headers), 200)
        assert again["id"] == first["id"]
        assert len(await stored(survey_app)) == 1
        assert len(await events(survey_app)) == 1

    async def test_same_external_id_other_answers_is_409(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        await ok(await survey_client.post("/v1/responses", json=response_body(survey), headers=headers))
        changed = response_body(survey, answers={"nps": 10})
        response = await survey_client.post("/v1/responses", json=changed, headers=headers)
        assert response.status_code == 409
        assert "PATCH" in response.json()["detail"]

    async def test_idempotency_key_replays(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        body = response_body(survey, external_id=None)
        keyed = {**headers, "Idempotency-Key": "r-1"}
        first = await ok(await survey_client.post("/v1/responses", json=body, headers=keyed))
        again = await ok(await survey_client.post("/v1/responses", json=body, headers=keyed))
        assert again == first and len(await stored(survey_app)) == 1


class TestValidation:
    async def test_every_problem_is_listed(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        body = response_body(survey, answers={"nps": 7.5, "csat_staff": 9, "reasons": ["weather"], "mood": "ok"})
        response = await survey_client.post("/v1/responses", json=body, headers=headers)
        assert response.status_code == 422
        assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
            ("answers.nps", "not_integer"),
            ("answers.csat_staff", "out_of_scale"),
            ("answers.reasons", "unknown_option"),
            ("answers.mood", "unknown_question"),
        ]
        assert await stored(survey_app) == [] and await events(survey_app) == []

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"unit": "emea/xx"}, "unit"),
            ({"submitted_at": "2026-01-01T10:00:00"}, "submitted_at"),
            ({"channel": "fax"}, "channel"),
            ({"contact": {"external_id": "c-2", "email": "not-an-email"}}, "contact.email"),
            ({"answers": "nps=9"}, "answers"),
        ],
    )
    async def test_bad_fields_are_422(
        self,
        overrides: dict[str, Any],
        field: str,
        survey_client: httpx.AsyncClient,
        survey: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        response = await survey_client.post("/v1/responses", json=response_body(survey, **overrides), headers=headers)
        assert response.status_code == 422
        assert field in [e["field"] for e in response.json()["errors"]]

    async def test_draft_and_closed_surveys_are_409(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        draft = await ok(await survey_client.post("/v1/surveys", json=NPS_PLUS, headers=headers))
        response = await survey_client.post("/v1/responses", json=response_body(draft), headers=headers)
        assert response.status_code == 409
        await ok(await survey_client.post(f"/v1/surveys/{survey['id']}/close", headers=headers), 200)
        response = await survey_client.post("/v1/responses", json=response_body(survey), headers=headers)
        assert response.status_code == 409

    async def test_unit_restricted_token(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], auth: TokenFactory
    ) -> None:
        restricted = auth(units=["emea"], **ALL)
        inside = response_body(survey, unit="emea/fr", contact=None)
        assert (await survey_client.post("/v1/responses", json=inside, headers=restricted)).status_code == 201
        outside = response_body(survey, external_id="o-2", unit="amer", contact=None)
        assert (await survey_client.post("/v1/responses", json=outside, headers=restricted)).status_code == 403
        nowhere = response_body(survey, external_id="o-3", contact=None)
        assert (await survey_client.post("/v1/responses", json=nowhere, headers=restricted)).status_code == 403


class TestBatch:
    def items(self, survey: dict[str, Any]) -> list[dict[str, Any]]:
        items = [response_body(survey, external_id=f"b-{i}", answers={"nps": i}) for i in range(8)]
        items[2]["answers"] = {"nps": 12}
        items[5]["answers"] = {"nps": 9, "colour": "red"}
        items.append(dict(items[3]))  # the same response twice in one batch
        items.append({"survey_id": survey["id"]})  # no answers at all
        return items

    async def test_each_item_has_its_result_and_a_retry_stores_nothing_twice(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        batch = {"items": self.items(survey)}
        first = await ok(await survey_client.post("/v1/responses/batch", json=batch, headers=headers), 200)
        assert (first["accepted"], first["duplicates"]) == (6, 1)
        assert [r["index"] for r in first["rejected"]] == [2, 5, 9]
        assert first["rejected"][0]["errors"][0]["field"] == "answers.nps"
        assert first["rejected"][2]["errors"][0]["field"] == "answers"
        assert [i["index"] for i in first["items"]] == [0, 1, 3, 4, 6, 7, 8]
        assert first["items"][-1] == {"index": 8, "id": first["items"][2]["id"], "status": "duplicate"}
        retry = await ok(await survey_client.post("/v1/responses/batch", json=batch, headers=headers), 200)
        assert (retry["accepted"], retry["duplicates"], len(retry["rejected"])) == (0, 7, 3)
        assert [i["id"] for i in retry["items"]] == [i["id"] for i in first["items"]]
        assert len(await stored(survey_app)) == 6
        assert len(await events(survey_app)) == 6

    async def test_batch_limits(self, survey_client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        too_many = {"items": [{"survey_id": "x", "answers": {}}] * 1001}
        assert (await survey_client.post("/v1/responses/batch", json=too_many, headers=headers)).status_code == 422
        assert (await survey_client.post("/v1/responses/batch", json={"items": []}, headers=headers)).status_code == 422

    async def test_non_object_item_is_rejected_alone(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        batch = {"items": [response_body(survey), "not an object"]}
        response = await survey_client.post("/v1/responses/batch", json=batch, headers=headers)
        assert response.status_code == 422  # the body itself is malformed: items must be objects
        batch = {"items": [response_body(survey), {"survey_id": 7, "answers": []}]}
        result = await ok(await survey_client.post("/v1/responses/batch", json=batch, headers=headers), 200)
        assert result["accepted"] == 1
        assert {e["field"] for e in result["rejected"][0]["errors"]} == {"survey_id", "answers"}


class TestPartialResponses:
    async def test_partial_then_more_then_finished(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        body = response_body(survey, answers={"csat_staff": 4}, finished=False)
        partial = await ok(await survey_client.post("/v1/responses", json=body, headers=headers))
        assert partial["finished"] is False and partial["completed_at"] is None
        url = f"/v1/responses/{partial['id']}"
        bad = await survey_client.patch(url, json={"answers": {"nps": 11}}, headers=headers)
        assert bad.status_code == 422
        missing = await survey_client.patch(
            url, json={"answers": {"csat_staff": None}, "finished": True}, headers=headers
        )
        assert [e["code"] for e in missing.json()["errors"]] == ["required", "empty"]
        more = await ok(
            await survey_client.patch(url, json={"answers": {"nps": 3, "why": "slow"}}, headers=headers), 200
        )
        assert more["answers"] == {"csat_staff": 4, "nps": 3, "why": "slow"}
        done = await ok(
            await survey_client.patch(url, json={"answers": {"why": None}, "finished": True}, headers=headers), 200
        )
        assert done["answers"] == {"csat_staff": 4, "nps": 3} and done["finished"] is True
        assert (await survey_client.patch(url, json={"answers": {"nps": 9}}, headers=headers)).status_code == 409
        assert [e.event_type for e in await events(survey_app)] == [
            "response.updated",
            "response.updated",
            "response.completed",
        ]


class TestVersions:
    async def test_responses_stay_pinned_to_the_version_they_answered(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        partial = await ok(
            await survey_client.post(
                "/v1/responses", json=response_body(survey, answers={"nps": 9}, finished=False), headers=headers
            )
        )
        questions = [*NPS_PLUS["questions"], {"key": "ces", "kind": "ces", "prompt": {"en": "Easy?", "de": "Leicht?"}}]
        await ok(
            await survey_client.patch(f"/v1/surveys/{survey['id']}", json={"questions": questions}, headers=headers),
            200,
        )
        await ok(await survey_client.post(f"/v1/surveys/{survey['id']}/publish", headers=headers), 200)
        new = await ok(
            await survey_client.post(
                "/v1/responses",
                json=response_body(survey, external_id="o-9", answers={"nps": 9, "ces": 6}),
                headers=headers,
            )
        )
        assert new["survey_version"] == 2
        old = await survey_client.patch(f"/v1/responses/{partial['id']}", json={"answers": {"ces": 6}}, headers=headers)
        assert old.status_code == 422  # version 1 has no `ces` question
        assert (await ok(await survey_client.get(f"/v1/responses/{partial['id']}", headers=headers), 200))[
            "survey_version"
        ] == 1


class TestListAndExport:
    async def seed(
        self, client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> list[dict[str, Any]]:
        made = []
        for i, unit in enumerate(["emea/de", "emea/fr", "amer", "emea/de"]):
            body = response_body(survey, external_id=f"=x-{i}", unit=unit, answers={"nps": 9}, finished=i != 3)
            body["submitted_at"] = f"2026-0{i + 1}-15T12:00:00+00:00"
            made.append(await ok(await client.post("/v1/responses", json=body, headers=headers)))
        return made

    async def test_filters(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        made = await self.seed(survey_client, survey, headers)

        async def ids(**params: Any) -> list[str]:
            page = await ok(await survey_client.get("/v1/responses", params=params, headers=headers), 200)
            return [r["id"] for r in page["items"]]

        assert await ids() == [r["id"] for r in made]
        assert await ids(unit="emea") == [made[0]["id"], made[1]["id"], made[3]["id"]]
        assert await ids(finished="false") == [made[3]["id"]]
        assert await ids(**{"from": "2026-02-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}) == [
            made[1]["id"],
            made[2]["id"],
        ]
        assert await ids(contact_id=made[0]["contact_id"]) == [r["id"] for r in made]
        assert await ids(survey_id="srv_other") == []
        assert (
            await survey_client.get("/v1/responses", params={"from": "2026-01-01"}, headers=headers)
        ).status_code == 422

    async def test_list_is_tenant_and_unit_scoped(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str], auth: TokenFactory
    ) -> None:
        made = await self.seed(survey_client, survey, headers)
        other = await ok(await survey_client.get("/v1/responses", headers=auth(org="globex", **ALL)), 200)
        assert other["items"] == []
        amer = await ok(await survey_client.get("/v1/responses", headers=auth(units=["amer"], **ALL)), 200)
        assert [r["id"] for r in amer["items"]] == [made[2]["id"]]
        hidden = await survey_client.get(f"/v1/responses/{made[0]['id']}", headers=auth(units=["amer"], **ALL))
        assert hidden.status_code == 404

    async def test_export_csv_and_ndjson(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        made = await self.seed(survey_client, survey, headers)
        exported = await survey_client.get("/v1/responses/export", params={"unit": "emea"}, headers=headers)
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [r["id"] for r in rows] == [made[0]["id"], made[1]["id"], made[3]["id"]]
        assert rows[0]["external_id"] == "'=x-0"  # not a formula in a spreadsheet
        assert json.loads(rows[0]["answers"]) == {"nps": 9}
        lines = (await survey_client.get("/v1/responses/export", params={"format": "ndjson"}, headers=headers)).text
        records = [json.loads(line) for line in lines.splitlines()]
        assert [r["id"] for r in records] == [r["id"] for r in made]
        assert records[2]["unit"] == "amer" and records[3]["finished"] is False

    async def test_export_needs_scope_and_a_known_format(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        assert (await survey_client.get("/v1/responses/export")).status_code == 401
        assert (await survey_client.get("/v1/responses/export", headers=auth(scopes="surveys:read"))).status_code == 403
        response = await survey_client.get("/v1/responses/export", params={"format": "xlsx"}, headers=auth(**ALL))
        assert response.status_code == 422

    async def test_empty_export_is_just_the_header(
        self, survey_client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        exported = await survey_client.get("/v1/responses/export", headers=headers)
        assert exported.text.splitlines() == [
            ",".join(
                [
                    "id",
                    "survey_id",
                    "survey_version",
                    "external_id",
                    "contact_id",
                    "channel",
                    "source",
                    "language",
                    "unit",
                    "touchpoint_id",
                    "finished",
                    "submitted_at",
                    "completed_at",
                    "anonymised_at",
                    "answers",
                    "attributes",
                ]
            )
        ]


class TestBatchAtScale:
    async def test_1000_items_with_contacts_take_a_constant_number_of_queries(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        items = [
            response_body(
                survey,
                external_id=f"s-{i}",
                contact={"external_id": f"c-{i % 200}", "unit": "emea/fr", "attributes": {"n": i % 200}},
                answers={"nps": i % 11},
            )
            for i in range(1000)
        ]
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        engine = survey_app.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            result = await ok(
                await survey_client.post("/v1/responses/batch", json={"items": items}, headers=headers), 200
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert (result["accepted"], result["duplicates"], result["rejected"]) == (1000, 0, [])
        assert len(statements) < 40, statements[:50]
        contacts = await ok(await survey_client.get("/v1/contacts", params={"limit": 500}, headers=headers), 200)
        assert len(contacts["items"]) == 200
        rows = await stored(survey_app)
        assert {r.attributes["n"] for r in rows} == set(range(200))
        assert len(await events(survey_app)) == 1000

    async def test_twin_of_a_rejected_item_is_rejected_too(
        self, survey_client: httpx.AsyncClient, survey: dict[str, Any], headers: dict[str, str]
    ) -> None:
        bad_contact = response_body(survey, external_id="t-1", contact={"external_id": "c-9", "unit": "asia"})
        batch = {"items": [bad_contact, dict(bad_contact), response_body(survey, external_id="t-2")]}
        result = await ok(await survey_client.post("/v1/responses/batch", json=batch, headers=headers), 200)
        assert (result["accepted"], result["duplicates"]) == (1, 0)
        assert [(r["index"], r["errors"][0]["field"]) for r in result["rejected"]] == [(0, "unit"), (1, "external_id")]


class TestAtTheSameMoment:
    async def test_copies_of_one_external_id_store_once(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        body = response_body(survey, contact=None, unit="emea/de", external_id="same-moment")
        answers = await asyncio.gather(*(survey_client.post("/v1/responses", json=body, headers=headers)
                                         for _ in range(6)))  # fmt: skip
        assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
        assert len({a.json()["id"] for a in answers}) == 1
        assert len(await events(survey_app)) == 1

    async def test_repeats_of_one_key_wait_and_replay(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        body = response_body(survey, contact=None, unit="emea/de", external_id=None)
        keyed = {**headers, "Idempotency-Key": "same-moment"}
        answers = await asyncio.gather(*(survey_client.post("/v1/responses", json=body, headers=keyed)
                                         for _ in range(6)))  # fmt: skip
        assert [a.status_code for a in answers] == [201] * 6
        assert len({a.json()["id"] for a in answers}) == 1
        assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 5
        assert len(await events(survey_app)) == 1

    async def test_a_retry_after_a_request_died_is_served_at_once(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        body = response_body(survey, contact=None, unit="emea/de")
        runner = survey_app.state.idempotency
        session = survey_app.state.db.sessions()
        await runner.claim(session, {"org": "acme", "caller": "tester", "key": "died"}, "a request that died")
        await session.close()  # killed before its commit: nothing of it stays
        answer = await survey_client.post("/v1/responses", json=body, headers={**headers, "Idempotency-Key": "died"})
        assert answer.status_code == 201
        assert len(await events(survey_app)) == 1
