"""The `deliv_webhooks` migration: duplicate deliveries left by crashed fan-outs are removed (keeping the delivered
one, else a pending one), then one delivery per (webhook, event) is enforced and settled rows lose next_attempt_at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from cxloop.migrations import upgrade
from shared.db import sync_url
from tests.conftest import BACKENDS, Backend, drop_backend, make_backend

BEFORE = {"survey_api": "trustsv_0002", "loop_api": "20261202_plans"}
NOW = "2026-12-01 10:00:00+00:00"
# (id, event, status): e1 was fanned out three times, e2 twice, e3 once
ROWS = [
    ("whd_a", "e1", "failed"),
    ("whd_b", "e1", "delivered"),
    ("whd_c", "e1", "pending"),
    ("whd_e", "e2", "pending"),
    ("whd_d", "e2", "pending"),
    ("whd_f", "e3", "failed"),
]


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    created = make_backend(request.param, tmp_path)
    try:
        yield created
    finally:
        drop_backend(created)


@pytest.mark.parametrize("service", list(BEFORE))
def test_duplicates_are_removed_then_forbidden(service: str, fresh: Backend) -> None:
    url = fresh.urls[service]
    upgrade(service, url, BEFORE[service])
    engine = create_engine(sync_url(url))
    try:
        insert = text(
            "INSERT INTO webhook_deliveries (id, org, webhook_id, event_id, event_type, payload, status, attempts,"
            " next_attempt_at, created_at) VALUES (:id, 'acme', 'wh_1', :event, 'response.completed', '{}', :status,"
            " 1, :now, :now)"
        )
        with engine.begin() as connection:
            for row_id, event, status in ROWS:
                connection.execute(insert, {"id": row_id, "event": event, "status": status, "now": NOW})
        upgrade(service, url)
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT id, next_attempt_at IS NULL FROM webhook_deliveries ORDER BY id")
            ).all()
        assert [tuple(row) for row in kept] == [("whd_b", True), ("whd_d", False), ("whd_f", True)]
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"id": "whd_g", "event": "e1", "status": "pending", "now": NOW})
    finally:
        engine.dispose()
