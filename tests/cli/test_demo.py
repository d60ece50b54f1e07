"""`cxloop demo`: a believable org through the public API; the same seed a second time adds nothing."""

from __future__ import annotations

import statistics

import httpx
from fastapi import FastAPI

from cxloop.demo import DemoPlan, Urls, run
from tests.cli.test_import import everything
from tests.conftest import TokenFactory

URLS = Urls(survey="http://survey", loop="http://loop")


async def test_demo_seeds_a_believable_org_and_is_idempotent(
    survey_app: FastAPI, loop_app: FastAPI, auth: TokenFactory
) -> None:
    token = auth(org="demo")["Authorization"].removeprefix("Bearer ")
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "survey": httpx.ASGITransport(app=survey_app),
        "loop": httpx.ASGITransport(app=loop_app),
    }
    plan = DemoPlan(org="demo", responses=600, case_wait_seconds=0)
    report = await run(urls=URLS, token=token, plan=plan, transports=transports)
    assert report.counts["responses stored"] == 600 and report.counts.get("responses rejected", 0) == 0

    async with httpx.AsyncClient(transport=transports["survey"], base_url=URLS.survey, headers=auth(org="demo")) as api:
        units = {u["path"] for u in await everything(api, "/v1/units")}
        surveys = await everything(api, "/v1/surveys")
        contacts = {c["id"]: c for c in await everything(api, "/v1/contacts")}
        responses = await everything(api, "/v1/responses")
        outcomes = await everything(api, "/v1/outcomes")
    assert {"emea/de/berlin-01", "amer/us/nyc-01"} <= units and len(units) == 10
    assert len(surveys) == 4 and all(s["status"] == "active" for s in surveys)
    assert any(s["languages"] == ["en", "de"] for s in surveys)
    assert len(responses) == 600
    stamps = sorted(r["submitted_at"] for r in responses)
    assert stamps[0][:7] != stamps[-1][:7]  # backdated over months

    nps = [r for r in responses if "nps" in r["answers"]]
    by_tier: dict[str, list[int]] = {}
    for r in nps:
        by_tier.setdefault(contacts[r["contact_id"]]["attributes"]["tier"], []).append(r["answers"]["nps"])
    assert statistics.mean(by_tier["gold"]) > statistics.mean(by_tier["bronze"])  # tier drives the score
    staff = [(r["answers"]["nps"], r["answers"]["staff"]) for r in nps]
    assert statistics.correlation([a for a, _ in staff], [b for _, b in staff]) > 0.5  # a driver, believably
    assert all(r["answers"].get("reasons") for r in nps if r["answers"]["nps"] <= 6)
    assert any("Paket" in r["answers"].get("why", "") for r in nps)  # German customers answer in German

    latest: dict[str, tuple[str, int]] = {}
    for r in nps:
        latest[r["contact_id"]] = max(latest.get(r["contact_id"], ("", 0)), (r["submitted_at"], r["answers"]["nps"]))
    churned = {o["contact_id"] for o in outcomes if o["kind"] == "churned"}

    def churn_rate(low: int, high: int) -> float:
        group = [c for c, (_, score) in latest.items() if low <= score <= high]
        return sum(c in churned for c in group) / len(group)

    assert churn_rate(0, 6) > churn_rate(9, 10)

    again = await run(urls=URLS, token=token, plan=plan, transports=transports)
    assert again.counts["responses already there"] == 600 and again.counts["responses stored"] == 0
    assert again.counts.get("outcomes", 0) == 0
    async with httpx.AsyncClient(transport=transports["survey"], base_url=URLS.survey, headers=auth(org="demo")) as api:
        assert len(await everything(api, "/v1/surveys")) == 4
        assert len(await everything(api, "/v1/responses")) == 600
