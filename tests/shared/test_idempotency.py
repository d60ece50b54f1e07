"""`Idempotency-Key`: a retry replays the first answer, another body is 422, a concurrent repeat waits and
replays, a key whose request died is free at once."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.survey_api.models import IdempotencyRecord
from shared.db import utcnow
from tests.conftest import TokenFactory

WRITE = "surveys:read surveys:write"


async def count_units(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return len((await client.get("/v1/units", headers=headers)).json()["items"])


async def test_replay_returns_the_first_answer(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = {**auth(scopes=WRITE), "Idempotency-Key": "k-1"}
    first = await survey_client.post("/v1/units", json={"path": "emea", "name": "EMEA"}, headers=headers)
    again = await survey_client.post("/v1/units", json={"path": "emea", "name": "EMEA"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await count_units(survey_client, headers) == 1


async def test_same_key_other_body_is_422(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = {**auth(scopes=WRITE), "Idempotency-Key": "k-2"}
    await survey_client.post("/v1/units", json={"path": "emea", "name": "EMEA"}, headers=headers)
    other = await survey_client.post("/v1/units", json={"path": "amer", "name": "AMER"}, headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in other.json()["detail"]
    assert await count_units(survey_client, headers) == 1


async def test_key_is_scoped_to_tenant_and_caller(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    body = {"path": "emea", "name": "EMEA"}
    for org, sub in [("acme", "a"), ("acme", "b"), ("globex", "a")]:
        response = await survey_client.post(
            "/v1/units", json=body, headers={**auth(org=org, sub=sub, scopes=WRITE), "Idempotency-Key": "shared"}
        )
        assert response.status_code == (201 if sub == "a" else 409), (org, sub)


async def test_key_claimed_by_a_request_that_died_is_free_at_once(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    body = {"path": "emea", "name": "EMEA"}
    ident = {"org": "acme", "caller": "tester", "key": "k-3"}
    runner = survey_app.state.idempotency
    session = survey_app.state.db.sessions()
    await runner.claim(session, ident, _fingerprint_of(body))  # a first request claims the key ...
    await session.close()  # ... and dies before it commits: its transaction goes, claim and all
    response = await survey_client.post(
        "/v1/units", json=body, headers={**auth(scopes=WRITE), "Idempotency-Key": "k-3"}
    )
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert await count_units(survey_client, auth(scopes=WRITE)) == 1


async def test_concurrent_repeat_waits_for_the_first_and_replays_it(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    body = {"path": "emea", "name": "EMEA"}
    ident = {"org": "acme", "caller": "tester", "key": "k-4"}
    runner = survey_app.state.idempotency
    first = {"id": "unit_first", "path": "emea", "name": "EMEA"}
    async with survey_app.state.db.sessions() as session:
        await runner.claim(session, ident, _fingerprint_of(body))  # the first request, still running
        repeat = asyncio.create_task(
            survey_client.post("/v1/units", json=body, headers={**auth(scopes=WRITE), "Idempotency-Key": "k-4"})
        )
        await asyncio.sleep(0.5)
        assert not repeat.done()  # it waits on the first request's claim, instead of a 409
        await runner.record(session, ident, JSONResponse(first, status_code=201))
        await session.commit()
    response = await repeat
    assert response.status_code == 201
    assert response.json() == first
    assert response.headers["idempotent-replayed"] == "true"
    assert await count_units(survey_client, auth(scopes=WRITE)) == 0  # the repeat created nothing itself


async def test_concurrent_repeat_runs_itself_when_the_first_fails(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    body = {"path": "emea", "name": "EMEA"}
    ident = {"org": "acme", "caller": "tester", "key": "k-7"}
    runner = survey_app.state.idempotency
    async with survey_app.state.db.sessions() as session:
        await runner.claim(session, ident, _fingerprint_of(body))
        repeat = asyncio.create_task(
            survey_client.post("/v1/units", json=body, headers={**auth(scopes=WRITE), "Idempotency-Key": "k-7"})
        )
        await asyncio.sleep(0.5)
        assert not repeat.done()
        await session.rollback()  # the first request failed
    response = await repeat
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert await count_units(survey_client, auth(scopes=WRITE)) == 1


async def test_key_left_in_flight_by_an_older_version_is_taken_over(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    body = {"path": "emea", "name": "EMEA"}
    async with survey_app.state.db.sessions() as session, session.begin():  # committed apart from its request
        session.add(IdempotencyRecord(org="acme", caller="tester", key="k-8", fingerprint=_fingerprint_of(body)))
    response = await survey_client.post(
        "/v1/units", json=body, headers={**auth(scopes=WRITE), "Idempotency-Key": "k-8"}
    )
    assert response.status_code == 201
    assert await count_units(survey_client, auth(scopes=WRITE)) == 1


async def test_failed_request_releases_its_key(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = {**auth(scopes=WRITE), "Idempotency-Key": "k-5"}
    missing_parent = await survey_client.post("/v1/units", json={"path": "emea/de", "name": "DE"}, headers=headers)
    assert missing_parent.status_code == 422
    await survey_client.post("/v1/units", json={"path": "emea", "name": "EMEA"}, headers=auth(scopes=WRITE))
    retried = await survey_client.post("/v1/units", json={"path": "emea/de", "name": "DE"}, headers=headers)
    assert retried.status_code == 201


async def test_concurrent_repeats_create_once(survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = {**auth(scopes=WRITE), "Idempotency-Key": "k-6"}
    responses = await asyncio.gather(
        *(survey_client.post("/v1/units", json={"path": "emea", "name": "EMEA"}, headers=headers) for _ in range(8))
    )
    assert [r.status_code for r in responses] == [201] * 8  # the repeats wait for the first and replay it
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 7
    assert await count_units(survey_client, headers) == 1


async def test_expired_keys_are_purged_and_free_again(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    headers = auth(scopes=WRITE)
    for key, path in [("k-old", "emea"), ("k-new", "amer")]:
        created = await survey_client.post(
            "/v1/units", json={"path": path, "name": path.upper()}, headers={**headers, "Idempotency-Key": key}
        )
        assert created.status_code == 201
    async with survey_app.state.db.sessions() as session, session.begin():
        old = await session.get(IdempotencyRecord, ("acme", "tester", "k-old"))
        assert old is not None
        old.created_at = utcnow() - dt.timedelta(hours=25)  # the default TTL is 24 hours
    runner = survey_app.state.idempotency
    assert runner.ttl == dt.timedelta(hours=24)
    assert await runner.purge() == 1
    assert await runner.purge() == 0
    async with survey_app.state.db.sessions() as session:
        assert await session.get(IdempotencyRecord, ("acme", "tester", "k-old")) is None
        assert await session.get(IdempotencyRecord, ("acme", "tester", "k-new")) is not None
    # Forgotten: the old key now starts a new request (another body is no longer a 422); the kept one replays.
    reused = await survey_client.post(
        "/v1/units", json={"path": "apac", "name": "APAC"}, headers={**headers, "Idempotency-Key": "k-old"}
    )
    assert reused.status_code == 201
    replayed = await survey_client.post(
        "/v1/units", json={"path": "amer", "name": "AMER"}, headers={**headers, "Idempotency-Key": "k-new"}
    )
    assert replayed.headers["idempotent-replayed"] == "true"


def test_the_ttl_is_a_setting() -> None:
    from services.survey_api.main import create_app
    from services.survey_api.settings import SurveySettings
    from tests.conftest import TEST_SETTINGS

    app = create_app(SurveySettings(**TEST_SETTINGS, database_url="sqlite:///:memory:", idempotency_ttl_hours=2))
    assert app.state.idempotency.ttl == dt.timedelta(hours=2)


def _fingerprint_of(body: dict[str, str]) -> str:
    """The fingerprint the server computes for POST /v1/units with `body`."""
    from fastapi import Request

    from shared.idempotency import fingerprint

    request = Request({"type": "http", "method": "POST", "path": "/v1/units", "headers": [], "query_string": b""})
    return fingerprint(request, body)
