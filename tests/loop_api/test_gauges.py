"""loop_api's /metrics counts the cases still being worked by SLA state: breached, at risk, on track."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from services.loop_api.cases.models import Case
from shared.db import utcnow
from tests.conftest import TokenFactory
from tests.loop_api.helpers import RW, open_case


async def test_open_cases_by_sla_state(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    cases = [await open_case(loop_client, service, headers) for _ in range(4)]
    past = utcnow() - dt.timedelta(hours=2)
    async with loop_app.state.db.sessions() as session, session.begin():
        breached = await session.get(Case, cases[0]["id"])
        risky = await session.get(Case, cases[1]["id"])
        done = await session.get(Case, cases[2]["id"])
        assert breached and risky and done
        breached.due_first_contact_at = breached.at_risk_first_contact_at = past
        risky.at_risk_first_contact_at = past  # 80 % of the clock used, not yet due
        done.due_first_contact_at = done.at_risk_first_contact_at = past  # breached, but resolved: not counted
        done.status, done.resolved_at = "resolved", utcnow()
        session.add_all([breached, risky, done])
    loop_app.state.gauges.read_at = float("-inf")
    text = (await loop_client.get("/metrics")).text
    found = {
        sample.labels.get("sla"): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "cxloop_cases_open"
    }
    assert found == {"breached": 1, "at_risk": 1, "on_track": 1}
