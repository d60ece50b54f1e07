"""/metrics carries what an operator alerts on: outbox backlog per destination, invitations, ingest, webhooks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col, select

from services.survey_api.models import OutboxEvent
from shared.db import utcnow
from tests.conftest import TokenFactory
from tests.survey_api.distribution_helpers import (
    WRITER,
    distribute,
    make_contact,
    stored_invitations,
    update_invitation,
)
from tests.survey_api.helpers import make_units, published_survey


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, keyed by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(client: httpx.AsyncClient, app: FastAPI) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    app.state.gauges.read_at = float("-inf")  # a fresh reading, not the one of 15 s ago
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    return samples(answer.text)


async def test_survey_metrics_count_invitations_ingest_and_outbox_backlog(
    survey_client: httpx.AsyncClient, survey_app: FastAPI, auth: TokenFactory
) -> None:
    headers = auth(**WRITER)
    await make_units(survey_client, headers, "emea")
    survey = await published_survey(survey_client, headers)
    contacts = [await make_contact(survey_client, headers, email=f"c{i}@example.com") for i in range(3)]
    sent = await distribute(
        survey_client, headers, survey_id=survey["id"], channel="link", contact_ids=[c["id"] for c in contacts]
    )
    assert [i["status"] for i in sent["invitations"]] == ["sent"] * 3
    bounced = (await stored_invitations(survey_app))[0]
    await update_invitation(survey_app, bounced.id, status="bounced")

    single = {"survey_id": survey["id"], "external_id": "r1", "channel": "api", "answers": {"nps": 9}}
    assert (await survey_client.post("/v1/responses", json=single, headers=headers)).status_code == 201
    assert (await survey_client.post("/v1/responses", json=single, headers=headers)).status_code == 200
    items = [
        {**single, "external_id": "r2", "answers": {"nps": 3}},
        single,  # a duplicate of r1
        {**single, "external_id": "r3", "answers": {"nps": 11}},  # out of scale: rejected
    ]
    batch = await survey_client.post("/v1/responses/batch", json={"items": items}, headers=headers)
    assert batch.status_code == 200, batch.text

    # Stage the backlog: one event dead, one pending for an hour; expected figures from the raw rows.
    async with survey_app.state.db.sessions() as session, session.begin():
        rows = list((await session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id)))).all())
        pending = [r for r in rows if r.status == "pending"]
        assert len(pending) >= 2
        pending[0].status = "dead"
        pending[1].occurred_at = utcnow() - dt.timedelta(hours=1)
        session.add_all(pending[:2])
    expected: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.status in ("pending", "dead"):
            for destination in row.destinations:
                expected[(destination, row.status)] = expected.get((destination, row.status), 0) + 1

    found = await scrape(survey_client, survey_app)
    assert found[("cxloop_invitations", (("channel", "link"), ("status", "delivered")))] == 2
    assert found[("cxloop_invitations", (("channel", "link"), ("status", "bounced")))] == 1
    assert found[("cxloop_ingested_total", (("kind", "responses"), ("result", "accepted")))] == 2
    assert found[("cxloop_ingested_total", (("kind", "responses"), ("result", "duplicate")))] == 2
    assert found[("cxloop_ingested_total", (("kind", "responses"), ("result", "rejected")))] == 1
    for (destination, status), count in expected.items():
        labels = (("destination", destination), ("status", status))
        assert found[("cxloop_outbox_events", labels)] == count
    for destination in pending[1].destinations:
        age = found[("cxloop_outbox_oldest_pending_seconds", (("destination", destination),))]
        assert 3600 <= age < 3600 + 120
    assert found[("cxloop_business_metrics_up", ())] == 1
    assert found[("cxloop_webhooks", (("state", "active"),))] == 0


async def test_webhook_states_and_a_delivered_outbox_leaves_no_backlog(
    survey_client: httpx.AsyncClient, survey_app: FastAPI, auth: TokenFactory
) -> None:
    from services.survey_api.models import Webhook

    async with survey_app.state.db.sessions() as session, session.begin():
        base: dict[str, Any] = {"org": "acme", "url": "https://hooks.example.com/x", "event_types": ["*"]}
        session.add(Webhook(id="wh_1", secret="s", **base))
        session.add(Webhook(id="wh_2", secret="s", failing_since=utcnow(), **base))
        session.add(Webhook(id="wh_3", secret="s", active=False, disabled_reason="410", **base))
    found = await scrape(survey_client, survey_app)
    for state in ("active", "failing", "disabled"):
        assert found[("cxloop_webhooks", (("state", state),))] == 1
    assert not [key for key in found if key[0] == "cxloop_outbox_events"]
