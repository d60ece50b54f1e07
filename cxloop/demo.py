"""`cxloop demo`: a realistic org, seeded through the public API, so every endpoint has something true to show.

Stores in a region/country tree, four touchpoints, an NPS+ survey and a CSAT survey in English and German, a CES
and a rating survey, contacts with a tier, segment and product, a year of backdated responses whose scores
depend on the store, the tier and the season (with reasons and comments where a customer is unhappy), outcomes
that follow what customers said (detractors churn more), and closed cases with root causes. The same seed
gives the same org; a second run finds everything already there (external ids, idempotency keys).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.progress import Progress

from cxloop import demo_data as data

BATCH = 1000


@dataclass(frozen=True)
class Urls:
    """Where survey_api and loop_api answer."""

    survey: str
    loop: str


@dataclass(frozen=True)
class DemoPlan:
    """What to seed: the org, how many responses, the random seed, how long to wait for cases to open."""

    org: str = "demo"
    responses: int = 20_000
    seed: int = 7
    case_wait_seconds: float = 60.0
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass
class DemoReport:
    """What the demo created (or found already there)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, count: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + count

    def lines(self) -> list[str]:
        """A summary for the terminal."""
        return [f"{name:<22} {count:>8}" for name, count in self.counts.items()]


class Seeder:
    """Writes through the API with one token; every create carries an Idempotency-Key, so a re-run replays."""

    def __init__(self, survey: httpx.AsyncClient, loop: httpx.AsyncClient, plan: DemoPlan) -> None:
        self.survey, self.loop, self.plan = survey, loop, plan
        self.random = random.Random(plan.seed)  # noqa: S311 - made-up data, not a secret
        self.report = DemoReport()

    async def create(self, client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST once (201/200); a 409 means it exists from an earlier run."""
        headers = {"Idempotency-Key": f"demo:{self.plan.org}:{self.plan.seed}:{key}"}
        response = await client.post(path, json=body, headers=headers)
        if response.status_code not in (200, 201, 409):
            raise DemoFailed(f"POST {path} answered {response.status_code}: {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer


class DemoFailed(Exception):
    """The stack refused the demo's data (wrong URL or token, or an older API)."""


async def _catalog(seeder: Seeder) -> dict[str, dict[str, Any]]:
    """Units, touchpoints and the four published surveys (by name)."""
    for path, name in data.UNITS:
        await seeder.create(seeder.survey, "/v1/units", {"path": path, "name": name}, f"unit:{path}")
        seeder.report.add("units")
    touchpoints = {}
    for key, body in data.TOUCHPOINTS.items():
        touchpoints[key] = await seeder.create(seeder.survey, "/v1/touchpoints", body, f"touchpoint:{key}")
        seeder.report.add("touchpoints")
    surveys = {}
    for key, body in data.SURVEYS.items():
        created = await seeder.create(
            seeder.survey, "/v1/surveys", {**body, "touchpoint_id": touchpoints[data.SURVEY_TOUCHPOINT[key]]["id"]},
            f"survey:{key}",
        )  # fmt: skip
        published = await seeder.survey.post(f"/v1/surveys/{created['id']}/publish")
        if published.status_code not in (200, 409):
            raise DemoFailed(f"publishing {key} answered {published.status_code}: {published.text[:300]}")
        surveys[key] = created
        seeder.report.add("surveys")
    return surveys


async def _contacts(seeder: Seeder, count: int) -> list[dict[str, Any]]:
    """Contacts with attributes, in the stores (German ones speak German), upserted in bulk."""
    contacts = [data.contact(seeder.random, i) for i in range(count)]
    for start in range(0, count, 5000):
        answer = await seeder.survey.post("/v1/contacts/bulk", json={"items": contacts[start : start + 5000]})
        if answer.status_code != 200:
            raise DemoFailed(f"contacts: {answer.status_code} {answer.text[:300]}")
        seeder.report.add("contacts", len(contacts[start : start + 5000]))
    return contacts


async def _responses(
    seeder: Seeder, surveys: dict[str, dict[str, Any]], contacts: list[dict[str, Any]], progress: Progress | None
) -> dict[str, int]:
    """A year of responses in batches; the latest NPS score per contact (for outcomes)."""
    task = progress.add_task("responses", total=seeder.plan.responses) if progress else None
    latest: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    for i in range(seeder.plan.responses):
        contact = contacts[seeder.random.randrange(len(contacts))]
        item = data.response(seeder.random, i, contact, surveys, seeder.plan.now)
        if "nps" in item["answers"]:
            latest[contact["external_id"]] = item["answers"]["nps"]
        batch.append(item)
        if len(batch) == BATCH or i == seeder.plan.responses - 1:
            answer = await seeder.survey.post("/v1/responses/batch", json={"items": batch})
            if answer.status_code != 200:
                raise DemoFailed(f"responses: {answer.status_code} {answer.text[:300]}")
            body = answer.json()
            seeder.report.add("responses stored", body["accepted"])
            seeder.report.add("responses already there", body["duplicates"])
            seeder.report.add("responses rejected", len(body["rejected"]))
            if progress is not None and task is not None:
                progress.advance(task, len(batch))
            batch = []
    return latest


async def _outcomes(seeder: Seeder, latest: dict[str, int]) -> None:
    """Churn and renewals that follow what each contact said last (detractors churn five times as often)."""
    items = [data.outcome(seeder.random, external_id, score, seeder.plan.now) for external_id, score in latest.items()]
    items = [item for item in items if item is not None]
    for start in range(0, len(items), BATCH):
        answer = await seeder.survey.post("/v1/outcomes/batch", json={"items": items[start : start + BATCH]})
        if answer.status_code != 200:
            raise DemoFailed(f"outcomes: {answer.status_code} {answer.text[:300]}")
        seeder.report.add("outcomes", answer.json()["accepted"])


async def _close_cases(seeder: Seeder) -> None:
    """The root-cause codes, then close about two in three of the cases the recent detractors opened."""
    for code, parent, label in data.ROOT_CAUSES:
        body = {"code": code, "label": label, **({"parent_code": parent} if parent else {})}
        await seeder.create(seeder.loop, "/v1/root-causes", body, f"root-cause:{code}")
    cases = await _wait_for_cases(seeder)
    for case in cases:
        if case["status"] != "open" or seeder.random.random() > 0.66:
            continue
        if await _work_case(seeder, case):
            seeder.report.add("cases closed")


async def _wait_for_cases(seeder: Seeder) -> list[dict[str, Any]]:
    """The open cases, once loop_api has taken in the recent detractors (up to case_wait_seconds)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + seeder.plan.case_wait_seconds
    found: list[dict[str, Any]] = []
    while True:
        page = await seeder.loop.get("/v1/cases", params={"limit": 500, "status": "open"})
        found = page.json().get("items", []) if page.status_code == 200 else []
        if found or asyncio.get_running_loop().time() >= deadline:
            return found
        await asyncio.sleep(2)


async def _work_case(seeder: Seeder, case: dict[str, Any]) -> bool:
    """In progress, a call that reached the customer, root causes and outcome, resolved, closed."""
    path = f"/v1/cases/{case['id']}"
    await seeder.loop.post(f"{path}/activities", json=data.activity(seeder.random))
    steps = [{"status": "in_progress"}, data.resolution(seeder.random), {"status": "closed"}]
    for body in steps:
        current = await seeder.loop.get(path)
        answer = await seeder.loop.patch(path, json=body, headers={"If-Match": current.headers.get("etag", "")})
        if answer.status_code != 200:
            return False
    return True


async def run(
    *,
    urls: Urls,
    token: str,
    plan: DemoPlan,
    progress: Progress | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
) -> DemoReport:
    """Seed the org through survey_api and loop_api; `transports` serves them in-process (tests)."""
    headers = {"Authorization": f"Bearer {token}"}
    transports = transports or {}
    survey = httpx.AsyncClient(base_url=urls.survey, headers=headers, timeout=120, transport=transports.get("survey"))
    loop = httpx.AsyncClient(base_url=urls.loop, headers=headers, timeout=60, transport=transports.get("loop"))
    async with survey, loop:
        seeder = Seeder(survey, loop, plan)
        surveys = await _catalog(seeder)
        contacts = await _contacts(seeder, max(50, math.ceil(plan.responses / 4)))
        latest = await _responses(seeder, surveys, contacts, progress)
        await _outcomes(seeder, latest)
        await _close_cases(seeder)
    return seeder.report
