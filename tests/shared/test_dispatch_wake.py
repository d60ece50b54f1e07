"""The dispatcher looks at once when a transaction of its process commits outbox events, not after its pause."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI

from services.survey_api.models import OutboxEvent
from shared import events as ev
from shared.outbox import add_event, on_outbox_commit
from tests.shared.test_dispatch import Subscriber, dispatcher, emit


async def test_a_commit_that_staged_events_calls_the_listeners(survey_app: FastAPI) -> None:
    woken: list[int] = []
    on_outbox_commit(survey_app.state.db, lambda: woken.append(1))
    await emit(survey_app, count=3)
    assert woken == [1]


async def test_a_rollback_or_a_commit_without_events_calls_none(survey_app: FastAPI) -> None:
    woken: list[int] = []
    db = survey_app.state.db
    on_outbox_commit(db, lambda: woken.append(1))
    with pytest.raises(RuntimeError):
        async with db.sessions() as session, session.begin():
            envelope = ev.EventEnvelope(type=ev.RESPONSE_COMPLETED, org="acme", source="survey_api", data={})
            add_event(session, OutboxEvent, envelope)
            raise RuntimeError("rolled back")
    async with db.sessions() as session, session.begin():
        pass
    assert woken == []


async def test_run_delivers_right_after_the_commit(survey_app: FastAPI) -> None:
    metrics, loop = Subscriber(), Subscriber()
    worker = dispatcher(survey_app, {"metrics": metrics, "loop": loop})
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop, idle_seconds=60))
    await asyncio.sleep(0.2)  # nothing due yet: the dispatcher pauses (for a minute, unless woken)
    ids = await emit(survey_app)
    for _ in range(100):
        if metrics.received and loop.received:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, timeout=10)
    assert (metrics.received, loop.received) == (ids, ids)
