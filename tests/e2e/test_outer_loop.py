"""The outer loop as processes: detractors in Berlin, cases closed with a root cause, a plan on Berlin, better
answers there later, and the plan's impact measured by loop_api asking metrics_api over HTTP."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from tests.e2e.stack import Stack, eventually
from tests.e2e.test_closed_loop import Api, all_cases, close_case, post_batches, set_up, stack

__all__ = ["stack"]  # the fixture: three `cxloop serve` processes on fresh databases
TODAY = dt.datetime.now(dt.UTC).date()
STARTS = TODAY - dt.timedelta(days=14)
WINDOW_DAYS = 15  # the after window runs from STARTS to today, when loop_api opens the cases
Mix = tuple[int, int, int]


def scores(mix: Mix) -> list[int]:
    promoters, passives, detractors = mix
    return (
        [9 + i % 2 for i in range(promoters)]
        + [7 + i % 2 for i in range(passives)]
        + [i % 7 for i in range(detractors)]
    )


def items(survey_id: str, unit: str, mix: Mix, days_ago: int, tag: str) -> list[dict[str, Any]]:
    at = dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(12), tzinfo=dt.UTC).isoformat()
    return [
        {"survey_id": survey_id, "external_id": f"{tag}-{i}", "unit": unit, "channel": "email", "submitted_at": at,
         "answers": {"nps": s}}
        for i, s in enumerate(scores(mix))
    ]  # fmt: skip


def nps_and_se(mix: Mix) -> tuple[float, float]:
    """NPS and its adjusted-Wald standard error, by hand."""
    promoters, passives, detractors = mix
    n = promoters + passives + detractors
    p, d = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
    return 100 * (promoters - detractors) / n, 100 * math.sqrt((p + d - (p - d) ** 2) / (n + 3))


def test_a_plan_on_berlin_shows_its_effect(stack: Stack) -> None:
    api = Api(stack)
    survey = set_up(api)["survey"]
    for path in ("emea/de/berlin", "emea/fr"):
        api.call("POST", "survey", "/v1/units", json={"path": path, "name": path})
    berlin: tuple[Mix, Mix] = ((10, 10, 30), (35, 10, 5))  # NPS -40 → +60
    paris: tuple[Mix, Mix] = ((20, 20, 10), (20, 20, 10))  # NPS +20 → +20
    answers = items(survey["id"], "emea/de/berlin", berlin[0], 20, "b0") + items(
        survey["id"], "emea/fr", paris[0], 20, "f0"
    )
    answers += items(survey["id"], "emea/de/berlin", berlin[1], 5, "b1") + items(
        survey["id"], "emea/fr", paris[1], 5, "f1"
    )
    post_batches(api, answers)
    cases = eventually(lambda: (found := all_cases(api)) and len(found) >= 55 and found, seconds=120)
    in_berlin = [c for c in cases if c["unit"] == "emea/de/berlin"]
    for case in in_berlin[:3]:
        close_case(api, case["id"])
    stats = api.call("GET", "loop", "/v1/root-causes/stats", params={"by": "unit"})
    assert stats["items"][0]["code"] == "delivery"
    assert stats["items"][0]["groups"] == [{"key": "emea/de/berlin", "cases": 3, "closed_cases": 3, "share_pct": 100.0}]
    plan = api.call(
        "POST", "loop", "/v1/action-plans",
        json={"title": "On-time delivery in Berlin", "problem": "Late delivery keeps coming up in Berlin",
              "root_causes": ["delivery"], "scope": {"units": ["emea/de/berlin"]}, "owner": "carla",
              "metric": "nps", "starts_on": STARTS.isoformat(),
              "tasks": [{"title": "New courier contract", "owner": "dan", "due_on": STARTS.isoformat()}]},
    )  # fmt: skip
    api.call("PATCH", "loop", f"/v1/action-plans/{plan['id']}", json={"status": "active"}, headers={"If-Match": '"1"'})
    url = f"/v1/action-plans/{plan['id']}/impact"

    def measured() -> dict[str, Any] | None:
        body: dict[str, Any] = api.call("GET", "loop", url, params={"window_days": WINDOW_DAYS})
        return (
            body
            if body["degraded"] == [] and body["scope"]["after"]["n"] == 50 and body["control"]["after"]["n"] == 50
            else None
        )

    impact: Any = eventually(measured, seconds=120)
    (sb, sb_se), (sa, sa_se) = nps_and_se(berlin[0]), nps_and_se(berlin[1])
    (cb, cb_se), (ca, ca_se) = nps_and_se(paris[0]), nps_and_se(paris[1])
    effect = (sa - sb) - (ca - cb)
    se = math.sqrt(sb_se**2 + sa_se**2 + cb_se**2 + ca_se**2)
    assert (impact["scope"]["change"], impact["control"]["change"]) == (100.0, 0.0)
    assert abs(impact["effect"] - effect) < 1e-9 and effect == 100.0
    assert abs(impact["p_value"] - math.erfc(abs(effect) / se / math.sqrt(2))) < 1e-9
    assert impact["significant"] is True
    assert impact["after_days"] == WINDOW_DAYS
    # Cases count by when loop_api opened them: today, although the partner backdated the answers.
    assert impact["cases"] == {"before": 0, "after": 3}
    detail = api.call("GET", "loop", f"/v1/action-plans/{plan['id']}")
    assert (detail["status"], detail["overdue_tasks"]) == ("active", 1)
