"""Rate limits in the service's database: a sliding window per key and minute, shared by every replica."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from cxloop.services import SERVICES
from services.survey_api.models import RateLimitCounter
from shared.ratelimit import take
from tests.conftest import TEST_SETTINGS, Backend, client_for

MINUTE = 29_000_000 * 60  # some Unix minute, at its first second


async def test_sliding_window_counts_by_hand(survey_app: FastAPI) -> None:
    db = survey_app.state.db

    async def hit(at: float, key: str = "k") -> float:
        return await take(db, RateLimitCounter, bucket="b", key=key, per_minute=3, now=at)

    assert [await hit(MINUTE + 1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await hit(MINUTE + 1) == 59.0  # a 4th in the minute: over on its own, wait for the next minute
    assert await hit(MINUTE + 1, key="other") == 0.0  # every key has its own count
    # 30 s into the next minute half of the previous minute's 4 still count: 2 + 1 fits, 2 + 2 does not
    assert await hit(MINUTE + 90) == 0.0
    assert await hit(MINUTE + 90) == 15.0  # 4 * (1 - x/60) + 2 <= 3 once x >= 45 s: 15 s from now
    assert await hit(MINUTE + 150) == 0.0  # two minutes on: only the last minute's 2, weighted by 1/2


@pytest.fixture
async def replicas(backend: Backend) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two survey_api processes on one database, each with the public limit at 2 a minute per token."""
    spec = SERVICES["survey_api"]
    settings = type(spec.settings())(**TEST_SETTINGS, database_url=backend.urls["survey_api"], public_rate_per_minute=2)
    apps = [spec.build(settings) for _ in range(2)]
    clients = [client_for(app, "survey") for app in apps]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()
        async with apps[0].state.db.sessions() as session, session.begin():
            await session.exec(RateLimitCounter.__table__.delete())  # type: ignore[attr-defined,call-overload]
        for app in apps:
            await app.state.db.dispose()


async def test_replicas_share_the_limit(replicas: list[httpx.AsyncClient]) -> None:
    first, second = replicas
    url = "/v1/public/invitations/tok_unknown"
    statuses = [(await client.get(url)).status_code for client in (first, second, first, second)]
    assert statuses == [404, 404, 429, 429]  # 2 a minute per token across both, not 2 each
    limited = await second.get(url)
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1
    others = [
        (await client.get(f"/v1/public/invitations/tok_{n}")).status_code for n, client in enumerate(replicas * 4)
    ]
    assert others == [404] * 5 + [429] * 3  # 10 a minute per address, across both: the 5 above and 5 of these
