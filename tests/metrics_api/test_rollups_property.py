"""Property: after any stream of creates, updates, redeliveries, out-of-order updates and erasures, posted
through `POST /internal/v1/events` in random batches, the rollups equal a recount of the facts, and the facts
are the newest finished state of each response (erased ones without contact data)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from cxloop.services import SERVICES
from services.metrics_api.models import KindRollup, MetricsTable, QuestionRollup, ScoreFact
from shared.events import EventEnvelope
from tests.conftest import TEST_SETTINGS, Backend, client_for, service_headers
from tests.metrics_api.events import erased_event, post_events, response_event

BASE = dt.datetime(2026, 1, 20, 9, tzinfo=dt.UTC)
UNITS = [None, "emea", "emea/de", "emea/de/berlin", "amer", "amer/us"]
ORGS = ["acme", "acme", "acme", "globex", "globex"]  # response k belongs to ORGS[k]
CONTACT_OF = ["cnt_a", "cnt_b", None, "cnt_a", None]  # and was given by this contact

responses = st.tuples(
    st.just("response"),
    st.integers(0, len(ORGS) - 1),  # which response
    st.none() | st.integers(0, 10),  # nps
    st.none() | st.integers(1, 5),  # csat
    st.sampled_from(UNITS),
    st.integers(0, 70),  # submitted this many days after BASE (crosses months)
    st.integers(0, 500),  # updated_at minutes after BASE: an update may be older than what was applied
    st.sampled_from([True, True, True, False]),  # finished (a partial response now and then)
)
steps = st.lists(
    st.one_of(
        responses,
        responses,
        responses,
        st.tuples(st.just("duplicate"), st.integers(0, 1000)),
        st.tuples(st.just("erase"), st.sampled_from(["cnt_a", "cnt_b"]), st.sampled_from(sorted(set(ORGS)))),
        st.tuples(st.just("flush")),
    ),
    min_size=8,
    max_size=40,
)


@dataclass
class Model:
    """What the stream should leave: the newest state of each response, and which were erased."""

    sent: list[EventEnvelope] = field(default_factory=list)
    newest: dict[str, tuple[dt.datetime, dict[str, Any]]] = field(default_factory=dict)
    contacts: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (org, contact) → responses
    erased: set[tuple[str, str]] = field(default_factory=set)  # (org, contact)


def _response(model: Model, step: tuple[Any, ...], sequence: int) -> EventEnvelope:
    _, k, nps, csat, unit, day, minute, finished = step
    rid, org, contact = f"rsp_p{k}", ORGS[k], CONTACT_OF[k]
    answers = {key: value for key, value in (("nps", nps), ("csat", csat)) if value is not None}
    # A distinct microsecond per event: no two states of a response are equally new.
    updated = BASE + dt.timedelta(minutes=minute, microseconds=sequence)
    event = response_event(
        answers, org=org, response_id=rid, unit=unit, contact_id=contact, attributes={"k": k}, finished=finished,
        submitted_at=BASE + dt.timedelta(days=day, hours=k), updated_at=updated,
    )  # fmt: skip
    if rid not in model.newest or updated > model.newest[rid][0]:
        model.newest[rid] = (updated, {"org": org, "answers": answers, "finished": finished, "contact": contact})
    if contact:
        model.contacts.setdefault((org, contact), set()).add(rid)
    return event


def _events(model: Model, stream: list[tuple[Any, ...]]) -> list[list[EventEnvelope]]:
    """The stream as batches of events, updating the model as survey_api's state would move."""
    batches: list[list[EventEnvelope]] = [[]]
    for sequence, step in enumerate(stream):
        if step[0] == "flush":
            batches.append([])
            continue
        if step[0] == "duplicate":
            if not model.sent:
                continue
            event = model.sent[step[1] % len(model.sent)]
        elif step[0] == "erase":
            _, contact, org = step
            rids = sorted(model.contacts.get((org, contact), set()))
            model.erased.add((org, contact))
            # survey_api lists the responses it has; one whose event is still on its way is found by contact id
            event = erased_event(contact, rids[1:], org=org)
        else:
            event = _response(model, step, sequence)
        model.sent.append(event)
        batches[-1].append(event)
    return [b for b in batches if b]


def _recount(facts: list[ScoreFact]) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """The rollups recomputed here, independently: every ancestor of the unit, per day and per month."""
    kind: Counter[tuple[Any, ...]] = Counter()
    question: Counter[tuple[Any, ...]] = Counter()
    for f in facts:
        parts = f.unit.split("/") if f.unit else []
        for depth in range(len(parts) + 1):
            unit = "/".join(parts[:depth])
            for grain, day in (("d", f.day), ("m", f.day.replace(day=1))):
                scale = (f.kind, f.scale_min, f.scale_max, f.score)
                kind[(f.org, unit, grain, day, *scale)] += 1
                question[(f.org, unit, grain, day, f.survey_id, f.question, *scale)] += 1
    return kind, question


def _stored(rows: list[Any], key: tuple[str, ...]) -> Counter[tuple[Any, ...]]:
    counted: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        assert row.n == sum(getattr(row, f"h{s}") for s in range(11))
        for score in range(11):
            if getattr(row, f"h{score}"):
                counted[(*(getattr(row, k) for k in key), score)] += getattr(row, f"h{score}")
    return counted


def _expected_facts(model: Model) -> list[tuple[Any, ...]]:
    expected = []
    for rid, (_, state) in model.newest.items():
        if not state["finished"]:
            continue
        anonymous = (state["org"], state["contact"]) in model.erased
        contact, attributes = (None, {}) if anonymous else (state["contact"], {"k": rid.removeprefix("rsp_p")})
        for key, score in state["answers"].items():
            expected.append((rid, key, score, contact, attributes))
    return sorted(expected, key=repr)


async def _check(backend: Backend, stream: list[tuple[Any, ...]]) -> None:
    spec = SERVICES["metrics_api"]
    app = spec.build(type(spec.settings())(**TEST_SETTINGS, database_url=backend.urls["metrics_api"]))
    service = service_headers("survey_api")
    model = Model()
    try:
        async with client_for(app, "metrics") as client:
            for batch in _events(model, stream):
                await post_events(client, service, batch)
        async with app.state.db.sessions() as session:
            facts = list((await session.exec(select(ScoreFact))).all())
            kind_rows = list((await session.exec(select(KindRollup))).all())
            question_rows = list((await session.exec(select(QuestionRollup))).all())
        stored = sorted(((f.response_id, f.question, f.score, f.contact_id, f.attributes) for f in facts), key=repr)
        assert stored == _expected_facts(model)
        kind, question = _recount(facts)
        assert _stored(kind_rows, ("org", "unit", "grain", "day", "kind", "scale_min", "scale_max")) == kind
        question_key = ("org", "unit", "grain", "day", "survey_id", "question", "kind", "scale_min", "scale_max")
        assert _stored(question_rows, question_key) == question
    finally:
        async with app.state.db.engine.begin() as connection:
            for table in reversed(MetricsTable.metadata.sorted_tables):
                await connection.execute(table.delete())
        await app.state.db.dispose()


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=steps)
def test_rollups_equal_a_recount_of_the_facts(backend: Backend, stream: list[tuple[Any, ...]]) -> None:
    asyncio.run(_check(backend, stream))
