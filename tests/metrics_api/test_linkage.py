"""`GET /v1/linkage`: outcome rates per NPS group (latest answer in the period), revenue and revenue at risk."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from services.metrics_api.models import OutcomeFact
from shared.events import EventEnvelope
from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest
from tests.metrics_api.events import at, erased_event, outcome_event, response_event

PERIOD = {"from": "2026-01-01", "to": "2026-06-30", "window_days": 90}
WINDOW = dt.timedelta(days=90)


def answer(contact: str, score: int, day: str, **options: Any) -> EventEnvelope:
    """A finished response of `contact` with one NPS score, at noon (UTC) of `day`."""
    return response_event({"nps": score}, contact_id=contact, submitted_at=at(day), **options)


def scenario() -> list[EventEnvelope]:
    """Contacts whose groups, churn and revenue are worked out by hand in the tests below."""
    return [
        answer("p1", 10, "2026-02-01"),  # promoter, nothing follows
        answer("p2", 9, "2026-02-01"),
        outcome_event("p2", "churned", at("2026-03-01")),  # counts
        outcome_event("p2", "revenue", at("2026-02-10"), value=100.0),  # counts
        answer("p3", 3, "2026-01-10"),
        answer("p3", 9, "2026-03-01"),  # the latest answer: p3 is a promoter
        outcome_event("p3", "churned", at("2026-02-01")),  # before the latest answer: does not count
        outcome_event("p3", "revenue", at("2026-03-05"), value=50.0),  # counts
        answer("p4", 10, "2026-02-01"),
        outcome_event("p4", "churned", at("2026-02-01") + WINDOW + dt.timedelta(seconds=1)),  # past the window
        answer("w", 10, "2026-05-01"),
        answer("w", 1, "2026-07-15"),  # after `to`: w stays a promoter
        outcome_event("w", "churned", at("2026-07-20")),  # 80 days after 1 May: counts
        answer("d1", 2, "2026-02-01"),
        outcome_event("d1", "churned", at("2026-02-15")),
        outcome_event("d1", "revenue", at("2026-02-05"), value=1000.0),
        outcome_event("d1", "revenue", at("2026-01-20"), value=500.0),  # before the answer
        outcome_event("d1", "revenue", at("2026-06-01"), value=300.0),  # after the window
        answer("d2", 6, "2026-02-01"),
        outcome_event("d2", "churned", at("2026-04-01")),
        outcome_event("d2", "revenue", at("2026-03-01"), value=2000.0),
        answer("d3", 9, "2026-01-05"),
        answer("d3", 0, "2026-02-01"),  # the latest answer: d3 is a detractor
        outcome_event("d3", "revenue", at("2026-02-02"), value=700.0),
        answer("d4", 5, "2026-03-01"),
        outcome_event("d4", "churned", at("2026-03-01") + WINDOW),  # exactly at the end of the window: counts
        answer("x1", 8, "2026-02-01"),
        outcome_event("x1", "renewed", at("2026-02-20")),
        answer("x2", 7, "2026-02-01"),
        outcome_event("x2", "churned", at("2026-02-10")),
        answer("z", 1, "2025-12-01"),  # before the period: not in scope
        outcome_event("z", "churned", at("2025-12-15")),
        response_event({"nps": 0}, submitted_at=at("2026-02-01")),  # anonymous: no contact to link
    ]


def wilson_pct(x: int, n: int) -> tuple[float, float]:
    """The 95 % Wilson score interval, in percent (z = 1.96)."""
    z, p = 1.96, x / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (center - half), 100 * (center + half)


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p of the pooled two-proportion z test."""
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


@pytest.fixture
async def linkage(metrics_client: httpx.AsyncClient, auth: TokenFactory) -> Any:
    """`await linkage(outcome=..., units=[...], **params)`: a 200 linkage answer for a `metrics:read` token."""

    async def get(*, units: list[str] | None = None, **params: Any) -> dict[str, Any]:
        headers = auth(scopes="metrics:read", units=units)
        response = await metrics_client.get("/v1/linkage", params={**PERIOD, **params}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return get


async def small_samples_allowed(metrics_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    """min_sample 1: the hand-computed groups are small."""
    response = await metrics_client.put("/v1/org-settings", json={"min_sample": 1}, headers=auth())
    assert response.status_code == 200, response.text


def by_group(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {group["group"]: group for group in body["groups"]}


class TestLinkage:
    async def test_unauthenticated(self, metrics_client: httpx.AsyncClient) -> None:
        assert (await metrics_client.get("/v1/linkage", params={"outcome": "churned"})).status_code == 401

    async def test_missing_scope(self, metrics_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes="targets:write")
        response = await metrics_client.get("/v1/linkage", params={"outcome": "churned"}, headers=headers)
        assert response.status_code == 403

    async def test_bad_parameters_are_422(self, metrics_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes="metrics:read")
        for params in (
            {},
            {"outcome": "revenue"},
            {"outcome": "churned", "window_days": 0},
            {"outcome": "churned", "from": "2026-05-01", "to": "2026-04-01"},
        ):
            response = await metrics_client.get("/v1/linkage", params=params, headers=headers)
            assert response.status_code == 422, params

    async def test_churn_by_latest_answer_in_the_period(
        self, metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, linkage: Any
    ) -> None:
        await small_samples_allowed(metrics_client, auth)
        await ingest(scenario())
        body = await linkage(outcome="churned")
        groups = by_group(body)
        # promoters p1 p2 p3 p4 w: p2 and w churned in the window; detractors d1..d4: d1 d2 d4; passives x1 x2: x2
        expected = {"promoter": (5, 2, 150.0), "passive": (2, 1, 0.0), "detractor": (4, 3, 3700.0)}
        for name, (contacts, churned, revenue) in expected.items():
            group = groups[name]
            assert (group["contacts"], group["with_outcome"], group["churned"]) == (contacts, churned, churned)
            assert group["rate_pct"] == pytest.approx(100 * churned / contacts)
            low, high = wilson_pct(churned, contacts)
            assert (group["ci"]["low"], group["ci"]["high"]) == (pytest.approx(low), pytest.approx(high))
            assert group["revenue_total"] == pytest.approx(revenue)
            assert group["revenue_mean"] == pytest.approx(revenue / contacts)
        comparison = body["detractor_vs_promoter"]
        assert comparison["difference_pct"] == pytest.approx(75.0 - 40.0)
        assert comparison["rate_ratio"] == pytest.approx(0.75 / 0.40)
        assert comparison["p_value"] == pytest.approx(two_proportion_p(3, 4, 2, 5))
        assert comparison["significant"] is False
        assert body["revenue_at_risk"] == pytest.approx(3700.0 * (0.75 - 0.40))
        assert (body["outcome"], body["window_days"]) == ("churned", 90)
        assert body["period"] == {"from": "2026-01-01", "to": "2026-06-30"}

    async def test_other_outcome_keeps_churn_for_the_risk(
        self, metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, linkage: Any
    ) -> None:
        await small_samples_allowed(metrics_client, auth)
        await ingest(scenario())
        body = await linkage(outcome="renewed")
        assert [(g["group"], g["with_outcome"]) for g in body["groups"]] == [
            ("promoter", 0),
            ("passive", 1),
            ("detractor", 0),
        ]
        assert body["detractor_vs_promoter"]["rate_ratio"] is None  # promoters renewed at 0 %
        assert body["revenue_at_risk"] == pytest.approx(3700.0 * (0.75 - 0.40))

    async def test_a_longer_window_counts_later_outcomes(
        self, metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, linkage: Any
    ) -> None:
        await small_samples_allowed(metrics_client, auth)
        await ingest(scenario())
        groups = by_group(await linkage(outcome="churned", window_days=365))
        assert groups["promoter"]["with_outcome"] == 3  # p4's churn, 90 days and a second later, now counts
        assert groups["detractor"]["revenue_total"] == pytest.approx(4000.0)  # d1's revenue of June too

    async def test_risk_is_zero_when_detractors_churn_less(
        self, metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, linkage: Any
    ) -> None:
        await small_samples_allowed(metrics_client, auth)
        await ingest(
            [
                answer("p", 10, "2026-02-01"),
                outcome_event("p", "churned", at("2026-02-10")),
                answer("d", 0, "2026-02-01"),
                outcome_event("d", "revenue", at("2026-02-10"), value=80.0),
            ]
        )
        body = await linkage(outcome="churned")
        assert body["detractor_vs_promoter"]["difference_pct"] == pytest.approx(-100.0)
        assert body["revenue_at_risk"] == 0.0

    async def test_below_the_minimum_sample_rates_are_null(self, ingest: Ingest, linkage: Any) -> None:
        await ingest(scenario())  # the default minimum sample is 5: only the promoters reach it
        body = await linkage(outcome="churned")
        groups = by_group(body)
        assert groups["promoter"]["rate_pct"] == pytest.approx(40.0)
        assert (groups["detractor"]["rate_pct"], groups["detractor"]["ci"]) == (None, None)
        assert groups["detractor"]["reason"] == "below_min_sample"
        assert groups["detractor"]["with_outcome"] == 3  # raw counts stay
        assert body["detractor_vs_promoter"]["p_value"] is None
        assert body["detractor_vs_promoter"]["significant"] is False
        assert body["revenue_at_risk"] is None

    async def test_unit_attribute_and_token_units(
        self, metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, linkage: Any
    ) -> None:
        await small_samples_allowed(metrics_client, auth)
        await ingest(
            [
                answer("a", 10, "2026-02-01", unit="emea/de", attributes={"tier": "gold"}),
                answer("b", 0, "2026-02-01", unit="emea/fr", attributes={"tier": "silver"}),
                outcome_event("b", "churned", at("2026-02-05")),
                answer("c", 3, "2026-02-01", unit="amer", attributes={"tier": "gold"}),
                outcome_event("c", "churned", at("2026-02-05")),
            ]
        )

        def counts(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
            return {g["group"]: (g["contacts"], g["with_outcome"]) for g in body["groups"]}

        assert counts(await linkage(outcome="churned", unit="emea")) == {
            "promoter": (1, 0),
            "passive": (0, 0),
            "detractor": (1, 1),
        }
        gold = await linkage(outcome="churned", **{"attr.tier": "gold"})
        assert counts(gold)["detractor"] == (1, 1) and counts(gold)["promoter"] == (1, 0)
        assert counts(await linkage(outcome="churned", units=["emea/de"]))["detractor"] == (0, 0)
        headers = auth(scopes="metrics:read", units=["emea/de"])
        outside = await metrics_client.get("/v1/linkage", params={**PERIOD, "outcome": "churned", "unit": "amer"},
                                           headers=headers)  # fmt: skip
        assert outside.status_code == 403

    async def test_other_orgs_are_invisible(
        self, metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, linkage: Any
    ) -> None:
        await ingest([answer("p", 10, "2026-02-01", org="globex"), outcome_event("p", "churned", at("2026-02-05"))])
        assert all(g["contacts"] == 0 for g in (await linkage(outcome="churned"))["groups"])


class TestOutcomeFacts:
    async def test_erasure_removes_outcomes_and_later_ones_are_not_kept(
        self, metrics_app: FastAPI, metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, linkage: Any
    ) -> None:
        await small_samples_allowed(metrics_client, auth)
        await ingest(scenario())
        first = answer("d1", 2, "2026-02-01")
        await ingest([erased_event("d1", []), first, outcome_event("d1", "churned", at("2026-02-16"))])
        async with metrics_app.state.db.sessions() as session:
            kept = (await session.exec(select(OutcomeFact.contact_id))).all()
        assert "d1" not in kept
        assert {"p2", "d2", "x1"} <= set(kept)
        detractors = by_group(await linkage(outcome="churned"))["detractor"]
        assert (detractors["contacts"], detractors["with_outcome"]) == (3, 2)
        assert detractors["revenue_total"] == pytest.approx(2700.0)

    async def test_a_repeated_event_is_kept_once(
        self, metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest, linkage: Any
    ) -> None:
        await small_samples_allowed(metrics_client, auth)
        revenue = outcome_event("d", "revenue", at("2026-02-10"), value=80.0)
        again = revenue.model_copy(update={"id": "evt_again"})  # redelivered under another event id
        await ingest([answer("d", 0, "2026-02-01"), revenue, again])
        assert by_group(await linkage(outcome="churned"))["detractor"]["revenue_total"] == pytest.approx(80.0)
