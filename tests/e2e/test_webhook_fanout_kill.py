"""Webhook fan-out survives SIGKILL: survey_api as a real process on PostgreSQL is killed again and again while
it fans 10,000 events out to three webhooks, restarted each time, and in the end every event is owed to every
webhook exactly once (no delivery lost with a rolled-back tick, none doubled by a fan-out done twice)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine

from cxloop import supervisor
from cxloop.migrations import upgrade
from services.survey_api.models import OutboxEvent
from shared import events as ev
from shared.auth import mint_token
from shared.db import sync_url
from shared.outbox import outbox_row
from tests.conftest import POSTGRES_URL, common_settings, drop_backend, make_backend
from tests.e2e.stack import Stack, eventually

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="the kill test runs on PostgreSQL")
EVENTS = 3_000
HOOKS = (["response.*"], ["*"], ["response.completed"])
KILLS = 4


@pytest.fixture
def survey(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, Engine]]:
    monkeypatch.setenv("CXLOOP_WEBHOOKS_ALLOW_PRIVATE", "true")
    backend = make_backend("postgres", tmp_path)
    urls = {
        "survey": backend.urls["survey_api"],
        "metrics": backend.urls["metrics_api"],
        "loop": backend.urls["loop_api"],
    }
    upgrade("survey_api", urls["survey"])
    stack = Stack(database_urls=urls, log_dir=tmp_path)  # metrics and loop never start: their events wait
    engine = create_engine(sync_url(urls["survey"]))
    try:
        yield stack, engine
    finally:
        stack.stop()
        engine.dispose()
        drop_backend(backend)


def launch(stack: Stack) -> subprocess.Popen[bytes]:
    """Start survey_api without waiting for it (the dispatcher starts fanning out at once)."""
    log = (stack.log_dir / "survey-kill.log").open("ab")
    command = [sys.executable, "-m", "cxloop", "serve", "survey", "--port", str(stack.ports["survey"])]
    return subprocess.Popen(command, env=stack.env(), stdout=log, stderr=subprocess.STDOUT)


def owed(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar_one())


def test_fan_out_killed_midway_owes_each_event_once_per_webhook(survey: tuple[Stack, Engine]) -> None:
    stack, engine = survey
    stack.processes["survey"] = [launch(stack)]
    assert supervisor.wait_ready(stack.url("survey"), seconds=180)  # a loaded machine can take a minute
    token = mint_token(common_settings(), org="acme", sub="e2e", scopes=["admin"])
    hook_ids = []
    for patterns in HOOKS:
        body = {"url": "http://127.0.0.1:9/hook", "event_types": patterns}  # nobody listens: deliveries retry later
        created = httpx.post(
            stack.url("survey") + "/v1/webhooks", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert created.status_code == 201, created.text
        hook_ids.append(created.json()["id"])
    stack.kill("survey")
    envelopes = [
        ev.EventEnvelope(type=ev.RESPONSE_COMPLETED, org="acme", source="survey_api", data={"n": n})
        for n in range(EVENTS)
    ]
    with engine.begin() as connection:  # to metrics (down) and to the webhooks, as survey_api stages them
        connection.execute(insert(OutboxEvent.__table__), [outbox_row(OutboxEvent, e) for e in envelopes])  # type: ignore[attr-defined]

    seen_at_kill = []
    for _ in range(KILLS):
        before = owed(engine)
        process = launch(stack)
        deadline = time.monotonic() + 180  # a loaded machine can take a minute to start a process
        while owed(engine) == before and time.monotonic() < deadline:  # kill once this run has fanned some out
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        seen_at_kill.append(owed(engine))
        with engine.begin() as connection:  # the killed claim's lease ends (as it would 60 s later)
            connection.execute(text("UPDATE outbox SET available_at = now() WHERE status = 'pending'"))
    assert any(0 < n < EVENTS * len(HOOKS) for n in seen_at_kill), seen_at_kill  # killed in the middle

    stack.processes["survey"] = [launch(stack)]  # stopped with the stack

    def fanned_out() -> bool:
        with engine.connect() as connection:
            left = connection.execute(text("SELECT count(*) FROM outbox WHERE destinations::jsonb ? 'webhooks'"))
            return left.scalar_one() == 0

    eventually(fanned_out, seconds=300)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT webhook_id, count(*), count(DISTINCT event_id) FROM webhook_deliveries GROUP BY webhook_id")
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted((hook_id, EVENTS, EVENTS) for hook_id in hook_ids)
