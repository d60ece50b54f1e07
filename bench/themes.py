"""Themes: tagging cost at ingest, re-tag throughput after a codebook change, and theme metrics latency.

On a fresh PostgreSQL database, metrics_api in-process (httpx ASGITransport, no socket): `size` responses with
an NPS score and, for 70 % of them, a comment drawn from a small vocabulary (late delivery in about 14 %,
mostly from detractors), ingested through `POST /internal/v1/events` in batches of 500 — once into an org
without themes (the floor) and once into an org with a 20-theme codebook. Then a theme's words change (the
re-tag of the whole org: comments/s), and `GET /v1/metrics/themes` is timed from the rollups (p50, p99).

    .venv/bin/python -m bench.themes [--size 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time
from typing import Any

import httpx

from bench.harness import Report, fresh_database, percentile
from cxloop.migrations import upgrade
from services.metrics_api.main import create_app
from services.metrics_api.settings import MetricsSettings
from services.metrics_api.themes import retag
from shared.auth import mint_service_token, mint_token
from shared.events import RESPONSE_COMPLETED, EventBatch, QuestionInfo, ResponseData, build_event
from shared.settings import CommonSettings

SECRET = "bench-secret-for-cxloop-benchmarks-0123456789"  # noqa: S105 - a throwaway in-process app
SETTINGS = CommonSettings(env="test", jwt_secret=SECRET)
QUESTIONS = [QuestionInfo(key="nps", kind="nps", scale_min=0, scale_max=10), QuestionInfo(key="why", kind="text")]
PHRASES = [
    "the delivery was late",
    "late delivery again",
    "the driver was rude",
    "great service",
    "friendly staff",
    "the price is too high",
    "easy to order",
    "the app keeps crashing",
    "packaging was damaged",
    "fast and reliable",
]
THEMES = ["late", "rude", "price", "crashing", "damaged", "friendly", "fast", "easy", "great", "app"]
BATCH = 500


def _comment(rng: random.Random, score: int) -> str | None:
    if rng.random() > 0.7:
        return None
    late = rng.random() < (0.35 if score <= 6 else 0.05)
    words = [PHRASES[rng.randrange(2)] if late else PHRASES[2 + rng.randrange(len(PHRASES) - 2)]]
    words.append(PHRASES[2 + rng.randrange(len(PHRASES) - 2)])
    return ", ".join(words) + f" (order {rng.randrange(10_000)})"


def events(org: str, size: int, seed: int) -> list[dict[str, Any]]:
    """`size` response events of `org` as JSON, spread over the last 300 days."""
    rng, now, out = random.Random(seed), dt.datetime.now(dt.UTC), []  # noqa: S311 - synthetic data
    for i in range(size):
        score = rng.choice([0, 2, 4, 5, 6, 7, 8, 9, 9, 10, 10])
        answers: dict[str, Any] = {"nps": score}
        comment = _comment(rng, score)
        if comment:
            answers["why"] = comment
        when = now - dt.timedelta(days=rng.randrange(300), minutes=rng.randrange(1440))
        data = ResponseData(
            response_id=f"rsp_{org}_{i:09d}",
            survey_id="srv_bench",
            survey_version=1,
            survey_kind="transactional",
            touchpoint_id=None,
            channel="email",
            source="partner",
            unit=f"emea/de/store-{i % 50:02d}",
            contact_id=None,
            attributes={},
            language="en",
            questions=QUESTIONS,
            answers=answers,
            finished=True,
            submitted_at=when,
            completed_at=when,
            updated_at=when,
        )
        out.append(build_event(RESPONSE_COMPLETED, org=org, data=data).model_dump(mode="json"))
    return out


async def _ingest(client: httpx.AsyncClient, batch: list[dict[str, Any]]) -> float:
    """Post all events in batches; the responses per second."""
    headers = {"Authorization": f"Bearer {mint_service_token(SETTINGS, service='survey_api')}"}
    started = time.perf_counter()
    for start in range(0, len(batch), BATCH):
        body = EventBatch.model_validate({"events": batch[start : start + BATCH]}).model_dump(mode="json")
        response = await client.post("/internal/v1/events", json=body, headers=headers)
        response.raise_for_status()
    return len(batch) / (time.perf_counter() - started)


def _admin(org: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SETTINGS, org=org, sub='bench', scopes=['admin', 'metrics:read'])}"}


async def measure(report: Report, size: int, requests: int) -> None:
    """Run the three measurements and add them to `report`."""
    url = fresh_database("cxloop_bench_themes")
    upgrade("metrics_api", url)
    app = create_app(MetricsSettings(env="test", jwt_secret=SECRET, database_url=url))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics") as client:
        for i, word in enumerate(THEMES * 2):
            theme = {"code": f"t{i:02d}", "label": word, "words": {"en": [word if i < 10 else f"{word} {i}"]}}
            (await client.post("/v1/themes", json=theme, headers=_admin("themed"))).raise_for_status()
        plain = await _ingest(client, events("plain", size, 1))
        themed = await _ingest(client, events("themed", size, 2))
        cost = 100 * (1 - themed / plain)
        report.add(
            "themes",
            f"ingest, 20 themes vs none ({size:,} responses)",
            f"{themed:,.0f}/s",
            f"{plain:,.0f}/s",
            f"{themed / plain:.2f}",
            "tagging < 10 % of the rate",
            met=cost < 10,
        )
        change = {"words": {"en": ["late", "late delivery", "delayed"]}}
        started = time.perf_counter()
        response = await client.patch("/v1/themes/t00", json=change, headers=_admin("themed"))
        response.raise_for_status()  # the in-process transport returns after the background re-tag
        seconds = time.perf_counter() - started
        theme = (await client.get("/v1/themes/t00", headers=_admin("themed"))).json()
        total = theme["retag"]["total"]
        report.add(
            "themes",
            f"re-tag after a change ({total:,} comments, chunks of {retag.CHUNK:,})",
            f"{total / seconds:,.0f} comments/s",
            target="≥ 50,000 comments/s",
            met=total / seconds >= 50_000,
        )
        query = {"survey_id": "srv_bench", "question": "why"}
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            (await client.get("/v1/metrics/themes", params=query, headers=_admin("themed"))).raise_for_status()
            timings.append(1000 * (time.perf_counter() - started))
        body = (await client.get("/v1/metrics/themes", params=query, headers=_admin("themed"))).json()
        late = next(item for item in body["items"] if item["code"] == "t00")
        report.add(
            "themes",
            f"GET /v1/metrics/themes, 300 days, rollups ({size:,} responses)",
            f"p50 {percentile(timings, 50):.1f} ms, p99 {percentile(timings, 99):.1f} ms",
            target="p99 < 50 ms",
            met=percentile(timings, 99) < 50,
        )
        report.notes.append(
            f"themes: late delivery in {late['comment_share_pct']:.0f} % of comments, {late['points_lost']:.1f} NPS "
            "points lost (synthetic data); in-process ASGI calls, no socket."
        )
        await app.state.db.dispose()


def run(report: Report, *, size: int = 100_000, requests: int = 200) -> None:
    """The themes section of `make bench`."""
    asyncio.run(measure(report, size, requests))


def main() -> None:
    """Run the section alone and print its rows."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    report = Report()
    run(report, size=args.size, requests=args.requests)
    print(report.markdown())


if __name__ == "__main__":
    main()
