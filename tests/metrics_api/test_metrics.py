"""`GET /v1/metrics/{metric}`: the five cases, scopes, filters, groups, intervals, comparisons, 422s."""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import at, days_ago, invitation_event, nps_scores, question, response_event, scored

METRICS = ["nps", "csat", "ces", "response_rate"]
PROBLEM = "application/problem+json"
Client = httpx.AsyncClient


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


def keys(answer: dict[str, Any]) -> list[tuple[Any, int]]:
    return [(g["key"], g["n"]) for g in answer["groups"]]


async def seed_every_metric(ingest: Ingest, org: str = "acme") -> None:
    await ingest(scored([10, 9, 9, 7, 3, 10], org=org, unit="emea/de"))
    await ingest(scored([5, 4, 4, 3, 5], key="csat", org=org, unit="emea/de"))
    await ingest(scored([7, 6, 5, 5, 2], key="ces", org=org, unit="emea/de"))
    await ingest([invitation_event(f"inv_{org}_{i}", "delivered", days_ago(2), org=org) for i in range(6)])


class TestFiveCases:
    @pytest.mark.parametrize("metric", METRICS)
    async def test_unauthenticated(self, metrics_client: Client, metric: str) -> None:
        response = await metrics_client.get(f"/v1/metrics/{metric}")
        problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("metric", METRICS)
    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory, metric: str) -> None:
        response = await metrics_client.get(f"/v1/metrics/{metric}", headers=auth(scopes="admin surveys:read"))
        assert "metrics:read" in problem(response, 403)["detail"]

    @pytest.mark.parametrize("metric", METRICS)
    async def test_other_tenant_sees_nothing(self, ingest: Ingest, read: Read, metric: str) -> None:
        await seed_every_metric(ingest, org="acme")
        assert (await read(metric, org="acme"))["n"] >= 5
        answer = await read(metric, org="globex")
        assert (answer["n"], answer["value"]) == (0, None)

    @pytest.mark.parametrize("metric", METRICS)
    async def test_empty(self, ingest: Ingest, read: Read, metric: str) -> None:
        await seed_every_metric(ingest)
        answer = await read(metric, unit="apac")  # no such unit's data: an empty answer, not a 404
        assert (answer["n"], answer["value"], answer["reason"]) == (0, None, "below_min_sample")

    @pytest.mark.parametrize("metric", METRICS)
    async def test_valid(self, ingest: Ingest, read: Read, metric: str) -> None:
        await seed_every_metric(ingest)
        answer = await read(metric)
        assert answer["metric"] == metric
        assert answer["value"] is not None and answer["n"] >= 5
        assert answer["ci"]["level"] == 0.95
        assert "previous" not in answer and "groups" not in answer and "target" not in answer


class TestScope:
    async def seed(self, ingest: Ingest) -> None:
        await ingest(scored([10] * 5, unit="emea/de/berlin"))
        await ingest(scored([0] * 5, unit="emea/fr"))
        await ingest(scored([8] * 5, unit="emea"))  # answered at emea itself
        await ingest(scored([9] * 6, unit="emeax"))  # a sibling whose path starts like emea
        await ingest(scored([7] * 2))  # no unit: the org root

    async def test_unit_is_a_subtree(self, ingest: Ingest, read: Read) -> None:
        await self.seed(ingest)
        assert (await read("nps"))["n"] == 23
        emea = await read("nps", unit="emea")
        assert (emea["n"], emea["promoters"], emea["detractors"], emea["value"]) == (15, 5, 5, 0.0)
        assert (await read("nps", unit="emea/de"))["n"] == 5
        assert (await read("nps", unit="emea/de/berlin"))["promoters"] == 5

    async def test_the_facts_path_agrees_with_the_rollups(self, ingest: Ingest, read: Read) -> None:
        await self.seed(ingest)
        for unit in ("emea", "emea/de", "emeax"):
            from_rollups = await read("nps", unit=unit)
            from_facts = await read("nps", unit=unit, channel="email")  # every seeded answer came by email
            assert from_facts == from_rollups

    async def test_group_by_unit_is_a_league_of_children(self, ingest: Ingest, read: Read) -> None:
        await self.seed(ingest)
        emea = await read("nps", unit="emea", group_by="unit")
        assert [(g["key"], g["value"]) for g in emea["groups"]] == [("emea/de", 100.0), ("emea/fr", -100.0)]
        assert emea["n"] == 15  # the total keeps the answers given at emea itself
        org = await read("nps", group_by="unit")
        assert keys(org) == [("emeax", 6), ("emea", 15)]  # best first; the 2 unit-less answers are in no child
        facts = await read("nps", unit="emea", group_by="unit", channel="email")
        assert facts["groups"] == emea["groups"]

    async def test_league_sorts_nulls_last(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([0] * 5, unit="a/low") + scored([10], unit="a/tiny") + scored([9] * 5, unit="a/high"))
        answer = await read("nps", unit="a", group_by="unit")
        assert [(g["key"], g["value"]) for g in answer["groups"]] == [
            ("a/high", 100.0),
            ("a/low", -100.0),
            ("a/tiny", None),
        ]

    async def test_restricted_token(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest, read: Read
    ) -> None:
        await self.seed(ingest)
        outside = await metrics_client.get(
            "/v1/metrics/nps", params={"unit": "emea"}, headers=auth(scopes="metrics:read", units=["emea/de"])
        )
        assert "emea" in problem(outside, 403)["detail"]
        assert (await read("nps", units=["emea/de"]))["n"] == 5
        assert (await read("nps", units=["emea/de"], unit="emea/de/berlin"))["n"] == 5
        # Several units are combined; a unit nested in another is not counted twice.
        both = await read("nps", units=["emea/fr", "emea/de", "emea/de/berlin", "emeax"])
        assert both["n"] == 16
        league = await read("nps", units=["emea/fr", "emea/de"], group_by="unit")
        assert keys(league) == [("emea/de", 5), ("emea/fr", 5)]
        assert (await read("nps", units=[]))["n"] == 0

    async def test_restricted_token_on_the_facts_path(self, ingest: Ingest, read: Read) -> None:
        await self.seed(ingest)
        answer = await read("nps", units=["emea/de", "emea/de/berlin", "emea/fr"], channel="email")
        assert answer["n"] == 10


class TestFilters:
    async def test_attributes(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([10] * 5, attributes={"plan": "gold", "vip": True, "seats": 3}))
        await ingest(scored([2] * 5, attributes={"plan": "silver", "vip": False, "seats": 3.5}))
        await ingest(scored([8] * 2))
        assert (await read("nps", attr__plan="gold"))["n"] == 5
        assert (await read("nps", attr__plan=["gold", "silver"]))["n"] == 10
        assert (await read("nps", attr__plan="gold", attr__vip="true"))["n"] == 5
        assert (await read("nps", attr__vip="false"))["detractors"] == 5
        assert (await read("nps", attr__seats="3"))["n"] == 5
        assert (await read("nps", attr__seats="3.5"))["n"] == 5
        assert (await read("nps", attr__plan="bronze"))["n"] == 0
        grouped = await read("nps", group_by="attr.plan")
        assert keys(grouped) == [("gold", 5), ("silver", 5), (None, 2)]  # best first, then the nulls

    async def test_survey_question_touchpoint_and_channel(self, ingest: Ingest, read: Read) -> None:
        two = [question("nps", "nps"), question("nps_agent", "nps")]
        await ingest([response_event({"nps": 10, "nps_agent": 2}, questions=two, survey_id="srv_a") for _ in range(3)])
        await ingest(scored([9, 9], survey_id="srv_b", touchpoint_id="tp_shop", channel="sms"))
        assert (await read("nps"))["n"] == 8
        assert (await read("nps", survey_id="srv_a"))["n"] == 6
        assert (await read("nps", survey_id="srv_a", question="nps_agent"))["detractors"] == 3
        assert (await read("nps", question="nps"))["n"] == 5
        assert (await read("nps", touchpoint_id="tp_shop"))["n"] == 2
        assert (await read("nps", channel="sms"))["n"] == 2
        # srv_b, sms and tp_shop have 2 answers: below the minimum sample, so after those with a value.
        assert keys(await read("nps", group_by="survey")) == [("srv_a", 6), ("srv_b", 2)]
        assert keys(await read("nps", group_by="channel")) == [("email", 6), ("sms", 2)]
        assert keys(await read("nps", group_by="touchpoint")) == [(None, 6), ("tp_shop", 2)]

    async def test_period_bounds(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([10], submitted_at=at("2026-03-01", hour=0)))
        await ingest(scored([9], submitted_at=at("2026-03-31", hour=23)))
        await ingest(scored([3], submitted_at=at("2026-04-01", hour=0)))
        assert (await read("nps", from_="2026-03-01", to="2026-03-31"))["n"] == 2  # dates: both inclusive
        assert (await read("nps", from_="2026-03-01T00:00:00Z", to="2026-04-01T00:00:00Z"))["n"] == 2  # [from, to)
        assert (await read("nps", from_="2026-03-01T00:00:01+00:00", to="2026-04-01"))["n"] == 2
        assert (await read("nps", from_="2026-03-31T23:00:00+01:00", to="2026-04-01T00:00:00Z"))["n"] == 1

    async def test_long_periods_read_month_rows_and_day_edges(self, ingest: Ingest, read: Read) -> None:
        days = ["2025-12-31", "2026-01-01", "2026-01-15", "2026-02-28", "2026-03-01", "2026-03-17", "2026-03-18"]
        for i, day in enumerate(days):
            await ingest(scored([i % 11], submitted_at=at(day)))
        assert (await read("nps", from_="2026-01-01", to="2026-03-17"))["n"] == 5
        assert (await read("nps", from_="2025-12-31", to="2026-02-28"))["n"] == 4
        assert (await read("nps", from_="2026-01-02", to="2026-02-28"))["n"] == 2
        monthly = await read("nps", from_="2025-12-15", to="2026-03-17", interval="month")
        assert keys(monthly) == [("2025-12-01", 1), ("2026-01-01", 2), ("2026-02-01", 1), ("2026-03-01", 2)]


class TestIntervals:
    async def test_day_week_month_in_the_org_time_zone(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest, read: Read
    ) -> None:
        await metrics_client.put(
            "/v1/org-settings", json={"timezone": "America/New_York", "min_sample": 1}, headers=auth()
        )
        await ingest(scored([10], submitted_at=at("2026-03-02", hour=3)))  # still Sunday 1 March in New York
        await ingest(scored([0], submitted_at=at("2026-03-02", hour=15)))  # Monday 2 March
        await ingest(scored([9], submitted_at=at("2026-03-10")))
        daily = await read("nps", from_="2026-03-01", to="2026-03-03", interval="day")
        assert [(g["key"], g["value"]) for g in daily["groups"]] == [
            ("2026-03-01", 100.0),
            ("2026-03-02", -100.0),
            ("2026-03-03", None),
        ]
        weekly = await read("nps", from_="2026-03-01", to="2026-03-15", interval="week")
        assert keys(weekly) == [("2026-02-23", 1), ("2026-03-02", 1), ("2026-03-09", 1)]  # ISO weeks start Monday
        assert weekly["n"] == 3
        monthly = await read("nps", from_="2026-02-01", to="2026-03-31", interval="month")
        assert keys(monthly) == [("2026-02-01", 0), ("2026-03-01", 3)]


class TestCompare:
    async def test_previous_period(self, ingest: Ingest, read: Read) -> None:
        before, now = at("2026-02-15"), at("2026-03-15")
        await ingest(scored(nps_scores(20, 10, 30), submitted_at=before))
        await ingest(scored(nps_scores(40, 10, 10), submitted_at=now))
        answer = await read("nps", from_="2026-03-01", to="2026-03-31", compare="previous")
        assert answer["previous"] == {"value": pytest.approx(100 * (20 - 30) / 60), "n": 60}
        assert answer["change"] == pytest.approx(50.0 - (-100 / 6))

        def adjusted(p: int, d: int, n: int) -> tuple[float, float]:
            pa, da = (p + 0.75) / (n + 3), (d + 0.75) / (n + 3)
            return 100 * (pa - da), 100 * math.sqrt((pa + da - (pa - da) ** 2) / (n + 3))

        z = (50.0 - 100 * (20 - 30) / 60) / math.sqrt(adjusted(40, 10, 60)[1] ** 2 + adjusted(20, 30, 60)[1] ** 2)
        assert answer["p_value"] == pytest.approx(2 * (1 - NormalDist().cdf(abs(z))))
        assert answer["significant"] is True
        # The previous period of 1-31 March is the 31 days before it: 29 January to 28 February.
        same = await read("nps", from_="2026-03-10", to="2026-03-20", compare="previous")
        assert (same["previous"], same["change"], same["significant"]) == ({"value": None, "n": 0}, None, False)

    async def test_not_significant_below_the_minimum_sample(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([0, 0, 0, 0, 0, 0], submitted_at=at("2026-02-20")))
        await ingest(scored([10, 10, 10, 10], submitted_at=at("2026-03-20")))
        answer = await read("nps", from_="2026-03-01", to="2026-03-31", compare="previous")
        assert (answer["value"], answer["previous"]["n"], answer["significant"]) == (None, 6, False)

    async def test_proportions_and_means(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([5] * 30 + [1] * 10, key="csat", submitted_at=at("2026-03-20")))
        await ingest(scored([5] * 10 + [1] * 30, key="csat", submitted_at=at("2026-02-20")))
        csat = await read("csat", from_="2026-03-01", to="2026-03-31", compare="previous")
        pooled = 40 / 80
        z = (0.75 - 0.25) / math.sqrt(pooled * (1 - pooled) * (1 / 40 + 1 / 40))
        assert csat["p_value"] == pytest.approx(2 * (1 - NormalDist().cdf(z)))
        assert csat["change"] == pytest.approx(50.0)
        await ingest(scored([6, 7, 7, 5, 6, 7], key="ces", submitted_at=at("2026-03-20")))
        await ingest(scored([2, 3, 1, 4, 2, 3], key="ces", submitted_at=at("2026-02-20")))
        ces = await read("ces", from_="2026-03-01", to="2026-03-31", compare="previous")
        assert ces["change"] == pytest.approx(38 / 6 - 15 / 6)
        assert ces["p_value"] < 0.001 and ces["significant"] is True

    async def test_groups_compare_with_their_previous_period(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([10] * 5, unit="emea/de", submitted_at=at("2026-03-20")))
        await ingest(scored([0] * 5, unit="emea/de", submitted_at=at("2026-02-20")))
        answer = await read(
            "nps", unit="emea", group_by="unit", from_="2026-03-01", to="2026-03-31", compare="previous"
        )
        [group] = answer["groups"]
        assert (group["key"], group["previous"], group["change"]) == ("emea/de", {"value": -100.0, "n": 5}, 200.0)

    async def test_two_segments(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([10] * 8 + [9] * 2, attributes={"plan": "gold"}))
        await ingest(scored([0] * 6 + [8] * 4, attributes={"plan": "silver"}))
        await ingest(scored([5] * 3, attributes={"plan": "bronze"}))
        answer = await read("nps", compare="attr.plan:gold,silver")
        assert answer["n"] == 23
        assert [(s["key"], s["value"], s["n"]) for s in answer["segments"]] == [
            ("gold", 100.0, 10),
            ("silver", -60.0, 10),
        ]
        assert answer["change"] == 160.0 and answer["significant"] is True


class TestRefusals:
    async def test_mixed_scales(self, ingest: Ingest, read: Read, metrics_client: Client, auth: TokenFactory) -> None:
        seven = [question("csat7", "csat", 1, 7)]
        await ingest(scored([5, 4, 5, 5, 3], key="csat", survey_id="srv_5"))
        await ingest(scored([7, 6, 7, 2, 7], key="csat7", questions=seven, survey_id="srv_7"))
        for params in ({}, {"channel": "email"}, {"group_by": "survey"}, {"interval": "week"}):
            response = await metrics_client.get("/v1/metrics/csat", params=params, headers=auth(scopes="metrics:read"))
            body = problem(response, 422)
            assert body["errors"][0]["code"] == "mixed_scales"
            assert "1-5, 1-7" in body["detail"] and "question" in body["detail"]
        assert (await read("csat", survey_id="srv_7"))["scale_max"] == 7
        assert (await read("csat", question="csat"))["scale_max"] == 5

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"group_by": "unit", "interval": "week", "compare": "previous"}, "compare"),
            ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
            ({"from": "2026-03-01T10:00:00"}, "from"),
            ({"from": "yesterday"}, "from"),
            ({"from": "2010-01-01", "to": "2026-01-01"}, "from"),
            ({"from": "2025-01-01", "to": "2026-03-01", "interval": "day"}, "interval"),
            ({"group_by": "colour"}, "group_by"),
            ({"compare": "last_year"}, "compare"),
            ({"compare": "attr.plan:gold,silver", "group_by": "unit"}, "compare"),
            ({"attr.Plan": "gold"}, "attr.Plan"),
            ({"unit": "EMEA"}, "unit"),
            ({"include": "everything"}, "include"),
        ],
    )
    async def test_invalid_requests(
        self, metrics_client: Client, auth: TokenFactory, params: dict[str, str], field: str
    ) -> None:
        response = await metrics_client.get("/v1/metrics/nps", params=params, headers=auth(scopes="metrics:read"))
        assert field in {e["field"] for e in problem(response, 422)["errors"]}

    async def test_response_rate_has_no_attributes(self, metrics_client: Client, auth: TokenFactory) -> None:
        response = await metrics_client.get(
            "/v1/metrics/response_rate", params={"attr.plan": "gold"}, headers=auth(scopes="metrics:read")
        )
        problem(response, 422)


class TestResponseRateGroups:
    async def test_by_channel_and_unit(self, ingest: Ingest, read: Read) -> None:
        events = []
        for i in range(10):
            channel, unit = ("sms", "emea/de") if i < 6 else ("email", "amer")
            events.append(invitation_event(f"inv_{i}", "delivered", days_ago(3), channel=channel, unit=unit))
            if i % 2 == 0:
                events.append(invitation_event(f"inv_{i}", "completed", days_ago(2), channel=channel, unit=unit))
        await ingest(events)
        by_channel = await read("response_rate", group_by="channel")
        assert [(g["key"], g["completed"], g["delivered"]) for g in by_channel["groups"]] == [
            ("sms", 3, 6),
            ("email", 2, 4),
        ]
        assert (await read("response_rate", unit="emea"))["value"] == 50.0
        assert keys(await read("response_rate", group_by="unit")) == [("emea", 6), ("amer", 4)]


class TestIncludes:
    async def test_target_and_benchmark(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest, read: Read
    ) -> None:
        await ingest(scored(nps_scores(6, 2, 2), unit="emea/de"))
        today = dt.date.today()
        period = {
            "period_start": (today - dt.timedelta(days=100)).isoformat(),
            "period_end": (today + dt.timedelta(days=100)).isoformat(),
        }
        target = await metrics_client.post(
            "/v1/targets", json={"metric": "nps", "unit": "emea/de", "value": 35, **period}, headers=auth()
        )
        await metrics_client.post(
            "/v1/targets", json={"metric": "nps", "unit": "emea", "value": 60, **period}, headers=auth()
        )
        benchmark = await metrics_client.post(
            "/v1/benchmarks", json={"metric": "nps", "value": 30, "name": "Retail DE", "unit": "emea"}, headers=auth()
        )
        answer = await read("nps", unit="emea/de", include="target,benchmark")
        assert answer["value"] == 40.0
        assert answer["target"] == {"id": target.json()["id"], "value": 35.0, "name": None, "met": True}
        assert answer["benchmark"]["id"] == benchmark.json()["id"]
        assert (answer["benchmark"]["difference"], answer["benchmark"]["name"]) == (10.0, "Retail DE")
        emea = await read("nps", unit="emea", include="target")
        assert emea["target"]["met"] is False and "benchmark" not in emea
        none = await read("nps", unit="amer", include="target,benchmark")
        assert (none["target"], none["benchmark"]) == (None, None)
