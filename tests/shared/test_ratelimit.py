"""The in-process token buckets and the `rate_limit` dependency factory."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request

from shared.errors import install_error_handlers
from shared.ratelimit import TokenBuckets, client_address, path_param, rate_limit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestTokenBuckets:
    def test_a_full_minute_then_waits(self) -> None:
        clock = Clock()
        buckets = TokenBuckets(clock=clock)
        assert [buckets.take("a", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
        assert buckets.take("a", 3) == pytest.approx(20.0)  # one token every 20 s
        clock.now += 10
        assert buckets.take("a", 3) == pytest.approx(10.0)
        clock.now += 10
        assert buckets.take("a", 3) == 0.0
        assert buckets.take("b", 3) == 0.0  # every key has its own bucket

    def test_refills_only_up_to_the_limit(self) -> None:
        clock = Clock()
        buckets = TokenBuckets(clock=clock)
        buckets.take("a", 2)
        clock.now += 3600
        assert [buckets.take("a", 2) for _ in range(3)][-1] > 0

    def test_forgets_the_least_recently_used_key_beyond_its_size(self) -> None:
        buckets = TokenBuckets(max_keys=2, clock=Clock())
        buckets.take("a", 1)
        buckets.take("b", 1)
        assert buckets.take("a", 1) > 0  # refused, and now the most recently used
        buckets.take("c", 1)  # forgets b
        assert len(buckets) == 2
        assert buckets.take("b", 1) == 0.0
        assert buckets.take("c", 1) > 0


def app_with(per_minute: int) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter(dependencies=[Depends(rate_limit("address", per_minute * 3))])
    per_token = Depends(rate_limit("token", lambda request: per_minute, key=path_param("token")))

    @router.get("/t/{token}", dependencies=[per_token])
    async def by_token(token: str) -> dict[str, str]:
        return {"token": token}

    @router.get("/free")
    async def free(request: Request) -> dict[str, str | None]:
        return {"address": client_address(request)}

    app.include_router(router)
    return app


class TestDependency:
    async def test_per_key_and_per_address_with_retry_after(self) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_with(2)), base_url="http://t") as client:
            assert [(await client.get("/t/a")).status_code for _ in range(3)] == [200, 200, 429]
            limited = await client.get("/t/a")
            assert limited.headers["content-type"] == "application/problem+json"
            assert limited.headers["retry-after"] == "30"
            assert limited.json()["status"] == 429 and limited.json()["type"].endswith("/rate-limited")
            assert (await client.get("/free")).json() == {"address": "127.0.0.1"}
            assert (await client.get("/free")).status_code == 200
            assert (await client.get("/free")).status_code == 429  # 6 a minute from one address, whatever the key

    async def test_each_app_has_its_own_buckets(self) -> None:
        for _ in range(2):
            transport = httpx.ASGITransport(app=app_with(1))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/t/a")).status_code == 200
