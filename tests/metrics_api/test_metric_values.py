"""Known vectors, computed by hand here with the published formulas (never with the service's own code)."""

from __future__ import annotations

import math

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import days_ago, invitation_event, nps_scores, question, response_event, scored

Z = 1.96
T_975_DF9 = 2.2621571627982  # Student's t, 97.5 % quantile, 9 degrees of freedom (from tables)
T_975_DF19 = 2.0930240544083  # … 19 degrees of freedom


def wilson(x: int, n: int) -> tuple[float, float]:
    """Wilson score interval, in percent."""
    p = x / n
    center = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return 100 * (center - half), 100 * (center + half)


def adjusted_wald(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """Rocks (2016): n' = n + 3, P' = P + 3/4, D' = D + 3/4; NPS' ± 1.96·SE', clipped to [-100, 100]."""
    n_adj = n + 3
    p, d = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    center = 100 * (p - d)
    se = 100 * math.sqrt((p + d - (p - d) ** 2) / n_adj)
    return max(-100.0, center - Z * se), min(100.0, center + Z * se)


class TestNps:
    async def test_32_promoters_13_passives_6_detractors(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored(nps_scores(32, 13, 6)))
        answer = await read("nps")
        assert (answer["n"], round(answer["value"])) == (51, 51)
        assert answer["value"] == pytest.approx(100 * (32 - 6) / 51)  # 50.98…, not rounded by the API
        assert (answer["promoters"], answer["passives"], answer["detractors"]) == (32, 13, 6)
        assert answer["promoters_pct"] == pytest.approx(100 * 32 / 51)
        assert answer["passives_pct"] == pytest.approx(100 * 13 / 51)
        assert answer["detractors_pct"] == pytest.approx(100 * 6 / 51)
        p, d = 32 / 51, 6 / 51
        assert answer["moe"] == pytest.approx(Z * 100 * math.sqrt((p + d - (p - d) ** 2) / 51))
        low, high = adjusted_wald(32, 6, 51)
        assert answer["ci"] == {"low": pytest.approx(low), "high": pytest.approx(high), "level": 0.95}
        assert (round(low, 1), round(high, 1)) == (29.3, 67.0)  # worked out on paper as well
        assert "reason" not in answer

    async def test_all_promoters(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([9, 10] * 10))
        answer = await read("nps")
        assert (answer["value"], answer["n"], answer["moe"]) == (100.0, 20, 0.0)
        low, high = adjusted_wald(20, 0, 20)
        assert high == 100.0  # the interval is clipped
        assert answer["ci"]["low"] == pytest.approx(low)
        assert answer["ci"]["high"] == 100.0

    async def test_all_detractors(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([0, 6, 3, 5, 1]))
        answer = await read("nps")
        assert (answer["value"], answer["detractors"], answer["ci"]["low"]) == (-100.0, 5, -100.0)

    async def test_below_minimum_sample(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([10, 9, 3, 8]))
        answer = await read("nps")
        assert answer["value"] is None
        assert answer["reason"] == "below_min_sample"
        assert (answer["n"], answer["min_sample"]) == (4, 5)
        # The raw counts are always there; what is derived from them waits for the sample.
        assert (answer["promoters"], answer["passives"], answer["detractors"]) == (2, 1, 1)
        assert answer["promoters_pct"] is None and answer["moe"] is None and answer["ci"] is None

    async def test_minimum_sample_is_an_org_setting(
        self, ingest: Ingest, read: Read, metrics_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        await ingest(scored([10, 9, 3, 8, 10, 10]))
        assert (await read("nps"))["value"] == pytest.approx(100 * (4 - 1) / 6)
        settings = {"timezone": "UTC", "min_sample": 10}
        assert (await metrics_client.put("/v1/org-settings", json=settings, headers=auth())).status_code == 200
        answer = await read("nps")
        assert (answer["value"], answer["n"], answer["min_sample"]) == (None, 6, 10)

    async def test_no_answers(self, read: Read) -> None:
        answer = await read("nps")
        assert (answer["value"], answer["n"], answer["reason"]) == (None, 0, "below_min_sample")
        assert answer["promoters_pct"] is None


class TestCsat:
    async def test_five_point_scale(self, ingest: Ingest, read: Read) -> None:
        counts = {1: 2, 2: 3, 3: 5, 4: 10, 5: 20}
        await ingest(scored([s for s, c in counts.items() for _ in range(c)], key="csat"))
        answer = await read("csat")
        n = 40
        assert answer["n"] == n
        assert answer["histogram"] == {str(s): c for s, c in counts.items()}
        assert (answer["scale_min"], answer["scale_max"]) == (1, 5)
        assert answer["satisfied"] == 30 and answer["top_box"] == 20
        assert answer["value"] == pytest.approx(75.0)  # top-2-box: (10 + 20) / 40
        assert answer["top_box_pct"] == pytest.approx(50.0)
        assert answer["mean"] == pytest.approx((1 * 2 + 2 * 3 + 3 * 5 + 4 * 10 + 5 * 20) / 40)
        low, high = wilson(30, 40)
        assert answer["ci"] == {"low": pytest.approx(low), "high": pytest.approx(high), "level": 0.95}

    async def test_seven_point_scale(self, ingest: Ingest, read: Read) -> None:
        seven = [question("csat7", "csat", 1, 7)]
        scores = [7, 7, 6, 6, 6, 5, 4, 1, 7, 3]
        await ingest(scored(scores, key="csat7", questions=seven))
        answer = await read("csat")
        assert (answer["scale_min"], answer["scale_max"], answer["n"]) == (1, 7, 10)
        assert answer["histogram"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1, "6": 3, "7": 3}
        assert answer["satisfied"] == 6  # 6 and 7 are the two highest points of 1-7
        assert answer["value"] == pytest.approx(60.0)
        assert answer["top_box_pct"] == pytest.approx(30.0)
        assert answer["mean"] == pytest.approx(sum(scores) / 10)
        low, high = wilson(6, 10)
        assert (answer["ci"]["low"], answer["ci"]["high"]) == (pytest.approx(low), pytest.approx(high))


class TestCes:
    async def test_seven_point_scale(self, ingest: Ingest, read: Read) -> None:
        scores = [7, 6, 6, 5, 5, 4, 3, 7, 2, 6]
        await ingest(scored(scores, key="ces"))
        answer = await read("ces")
        n, mean = 10, sum(scores) / 10
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))
        assert (answer["n"], answer["value"], answer["mean"]) == (n, pytest.approx(mean), pytest.approx(mean))
        assert answer["easy"] == 7  # 5, 6 and 7
        assert answer["easy_pct"] == pytest.approx(70.0)
        half = T_975_DF9 * sd / math.sqrt(n)
        assert answer["ci"] == {"low": pytest.approx(mean - half), "high": pytest.approx(mean + half), "level": 0.95}

    async def test_twenty_answers(self, ingest: Ingest, read: Read) -> None:
        scores = [1, 2, 3, 4, 5, 6, 7, 7, 7, 6, 5, 5, 5, 4, 6, 7, 6, 6, 3, 7]
        await ingest(scored(scores, key="ces"))
        answer = await read("ces")
        mean = sum(scores) / 20
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / 19)
        assert answer["ci"]["high"] == pytest.approx(mean + T_975_DF19 * sd / math.sqrt(20))


class TestResponseRate:
    async def test_completed_over_delivered(self, ingest: Ingest, read: Read) -> None:
        sent = days_ago(3)
        events = []
        for i in range(12):
            events.append(invitation_event(f"inv_{i}", "sent", sent))
            if i < 10:
                events.append(invitation_event(f"inv_{i}", "delivered", days_ago(3, hour=13)))
            if i < 4:
                events.append(invitation_event(f"inv_{i}", "completed", days_ago(2)))
        events.append(invitation_event("inv_10", "bounced", days_ago(3, hour=14)))
        # Out of order: the completion of inv_11 arrives, then its sent; it was delivered (a later stage implies it).
        await ingest(list(reversed(events)))
        await ingest([invitation_event("inv_11", "completed", days_ago(1))])
        answer = await read("response_rate")
        assert (answer["completed"], answer["delivered"], answer["n"]) == (5, 11, 11)
        assert answer["value"] == pytest.approx(100 * 5 / 11)
        low, high = wilson(5, 11)
        assert (answer["ci"]["low"], answer["ci"]["high"]) == (pytest.approx(low), pytest.approx(high))

    async def test_no_invitations(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([10] * 6))  # responses without invitations (partner API) make no rate
        answer = await read("response_rate")
        assert (answer["value"], answer["n"], answer["reason"]) == (None, 0, "below_min_sample")


class TestUnknownAnswersAreNotScored:
    async def test_out_of_scale_and_text_are_skipped(self, ingest: Ingest, read: Read) -> None:
        # survey_api refuses such answers; should one slip through, it is not counted (never a crash).
        await ingest([response_event({"nps": 11}), response_event({"nps": True}), response_event({"comment": "hi"})])
        assert (await read("nps"))["n"] == 0
