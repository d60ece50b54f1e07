"""Ingest through `POST /internal/v1/events`: exactly once, newest state wins, partial responses, erasure."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from sqlmodel import col, select

from services.metrics_api.models import KindRollup, ResponseState, ScoreFact
from services.metrics_api.rollups import rebuild_rollups
from shared.events import RESPONSE_UPDATED, EventEnvelope
from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import at, days_ago, erased_event, response_event, scored


async def facts(app: FastAPI, org: str = "acme") -> list[ScoreFact]:
    async with app.state.db.sessions() as session:
        statement = select(ScoreFact).where(ScoreFact.org == org).order_by(col(ScoreFact.response_id))
        return list((await session.exec(statement)).all())


async def rollup_rows(app: FastAPI) -> list[tuple[object, ...]]:
    async with app.state.db.sessions() as session:
        rows = (await session.exec(select(KindRollup).where(KindRollup.n != 0))).all()
        return sorted((r.org, r.unit, r.grain, r.day, r.kind, r.scale_min, r.h3, r.h10, r.n) for r in rows)


class TestExactlyOnce:
    async def test_duplicate_events_are_counted_once(self, ingest: Ingest, read: Read) -> None:
        events = scored([10, 10, 9, 3, 7])
        first = await ingest(events)
        again = await ingest([*events, events[0]])  # redelivered, and one twice in the same batch
        assert first == {"processed": 5, "duplicates": 0, "ignored": 0}
        assert again == {"processed": 0, "duplicates": 6, "ignored": 0}
        answer = await read("nps")
        assert (answer["n"], answer["promoters"], answer["detractors"]) == (5, 3, 1)

    async def test_a_new_event_with_the_same_state_replaces_not_adds(self, ingest: Ingest, read: Read) -> None:
        event = response_event({"nps": 10}, response_id="rsp_same")
        copy = EventEnvelope(**{**event.model_dump(), "id": "evt_another_id"})
        await ingest([event])
        await ingest([copy])
        assert (await read("nps"))["n"] == 1

    async def test_other_event_types_are_ignored(self, ingest: Ingest) -> None:
        other = EventEnvelope(type="case.opened", org="acme", source="loop_api", data={})
        assert await ingest([other]) == {"processed": 0, "duplicates": 0, "ignored": 1}


class TestUpdates:
    async def test_an_update_moves_a_detractor_to_promoter(self, ingest: Ingest, read: Read) -> None:
        await ingest(scored([10, 10, 9, 8]))
        t0 = days_ago(2)
        await ingest([response_event({"nps": 2}, response_id="rsp_moves", submitted_at=t0)])
        before = await read("nps")
        assert (before["n"], before["detractors"], before["value"]) == (5, 1, 100 * (3 - 1) / 5)
        later = t0 + dt.timedelta(hours=1)
        await ingest(
            [
                response_event(
                    {"nps": 10}, response_id="rsp_moves", submitted_at=t0, updated_at=later, event_type=RESPONSE_UPDATED
                )
            ]
        )
        after = await read("nps")
        assert (after["n"], after["detractors"], after["promoters"], after["value"]) == (5, 0, 4, 80.0)

    async def test_an_older_event_arriving_late_is_ignored(
        self, ingest: Ingest, read: Read, metrics_app: FastAPI
    ) -> None:
        t0 = days_ago(2)
        newer = response_event(
            {"nps": 10}, response_id="rsp_late", submitted_at=t0, updated_at=t0 + dt.timedelta(hours=2)
        )
        older = response_event(
            {"nps": 0}, response_id="rsp_late", submitted_at=t0, updated_at=t0 + dt.timedelta(hours=1)
        )
        await ingest([newer])
        await ingest([older])
        await ingest([older, newer][::-1])  # and within one batch
        assert [(f.response_id, f.score) for f in await facts(metrics_app)] == [("rsp_late", 10)]
        answer = await read("nps")
        assert (answer["n"], answer["promoters"]) == (1, 1)

    async def test_a_newer_state_in_the_same_batch_wins(self, ingest: Ingest, metrics_app: FastAPI) -> None:
        t0 = days_ago(2)
        states = [
            response_event(
                {"nps": s}, response_id="rsp_batch", submitted_at=t0, updated_at=t0 + dt.timedelta(minutes=m)
            )
            for s, m in ((3, 5), (9, 10), (6, 1))
        ]
        await ingest(states)
        assert [f.score for f in await facts(metrics_app)] == [9]

    async def test_partial_responses_count_only_once_finished(self, ingest: Ingest, read: Read) -> None:
        t0 = days_ago(2)
        partial = response_event({"nps": 3}, response_id="rsp_partial", finished=False, submitted_at=t0)
        await ingest([partial, *scored([10] * 5)])
        assert (await read("nps"))["n"] == 5
        finished = response_event(
            {"nps": 3, "csat": 4}, response_id="rsp_partial", submitted_at=t0, updated_at=t0 + dt.timedelta(hours=1)
        )
        await ingest([finished])
        answer = await read("nps")
        assert (answer["n"], answer["detractors"]) == (6, 1)
        assert (await read("csat"))["n"] == 1


class TestErasure:
    async def test_erasure_keeps_scores_and_drops_contact_data(
        self, ingest: Ingest, read: Read, metrics_app: FastAPI
    ) -> None:
        gold = {"contact_id": "cnt_gone", "attributes": {"plan": "gold", "vip": True}}
        mine = [response_event({"nps": s}, response_id=f"rsp_e{s}", **gold) for s in (10, 9, 2)]  # type: ignore[arg-type]
        others = scored([10, 8, 7], contact_id="cnt_stays", attributes={"plan": "gold"})
        await ingest([*mine, *others])
        assert (await read("nps", attr__plan="gold"))["n"] == 6
        await ingest([erased_event("cnt_gone", ["rsp_e10", "rsp_e9"])])  # rsp_e2 found by its contact id
        stored = await facts(metrics_app)
        erased = [f for f in stored if f.response_id.startswith("rsp_e")]
        assert [(f.contact_id, f.attributes) for f in erased] == [(None, {})] * 3
        assert sorted(f.score for f in erased) == [2, 9, 10]
        assert all(f.contact_id == "cnt_stays" for f in stored if f not in erased)
        assert (await read("nps"))["n"] == 6
        assert (await read("nps", attr__plan="gold"))["n"] == 3

    async def test_a_late_copy_of_an_erased_response_stays_anonymous(
        self, ingest: Ingest, metrics_app: FastAPI
    ) -> None:
        await ingest([erased_event("cnt_gone", ["rsp_in_flight"])])
        await ingest(
            [response_event({"nps": 9}, response_id="rsp_in_flight", contact_id="cnt_gone", attributes={"a": 1})]
        )
        [fact] = await facts(metrics_app)
        assert (fact.score, fact.contact_id, fact.attributes) == (9, None, {})
        async with metrics_app.state.db.sessions() as session:
            state = await session.get(ResponseState, "rsp_in_flight")
            assert state is not None and state.erased


class TestDaysAndRollups:
    async def test_days_are_in_the_org_time_zone(
        self, ingest: Ingest, read: Read, metrics_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        settings = {"timezone": "Pacific/Auckland", "min_sample": 1}
        await metrics_client.put("/v1/org-settings", json=settings, headers=auth())
        late_evening_utc = at("2026-03-01", hour=20)  # already 2 March in Auckland (UTC+13)
        await ingest([response_event({"nps": 10}, submitted_at=late_evening_utc)])
        assert (await read("nps", from_="2026-03-01", to="2026-03-01"))["n"] == 0
        assert (await read("nps", from_="2026-03-02", to="2026-03-02"))["n"] == 1
        by_day = await read("nps", from_="2026-03-01", to="2026-03-02", interval="day")
        assert [(g["key"], g["n"]) for g in by_day["groups"]] == [("2026-03-01", 0), ("2026-03-02", 1)]

    async def test_rebuild_recounts_the_same_rollups(self, ingest: Ingest, metrics_app: FastAPI) -> None:
        t0 = days_ago(40)
        await ingest(scored([10, 3, 7], unit="emea/de/berlin", submitted_at=t0))
        await ingest(scored([5, 6], key="ces", unit="emea/fr"))
        await ingest([response_event({"nps": 9}, response_id=f"rsp_r{i}", unit="amer") for i in range(3)])
        await ingest([response_event({"nps": 1}, response_id="rsp_r1", unit="amer", updated_at=days_ago(0))])
        incremental = await rollup_rows(metrics_app)
        async with metrics_app.state.db.sessions() as session:
            written = await rebuild_rollups(session)
            await session.commit()
        assert set(written) == {"acme"}
        assert await rollup_rows(metrics_app) == incremental

    async def test_rebuild_applies_a_changed_time_zone(
        self, ingest: Ingest, read: Read, metrics_app: FastAPI, metrics_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        await ingest([response_event({"nps": 10}, submitted_at=at("2026-03-01", hour=20))])
        settings = {"timezone": "Asia/Tokyo", "min_sample": 1}
        await metrics_client.put("/v1/org-settings", json=settings, headers=auth())
        assert (await read("nps", from_="2026-03-02", to="2026-03-02"))["n"] == 0  # stored days stay as they were
        async with metrics_app.state.db.sessions() as session:
            await rebuild_rollups(session, org="acme")
            await session.commit()
        assert (await read("nps", from_="2026-03-02", to="2026-03-02"))["n"] == 1
        assert (await read("nps", from_="2026-03-01", to="2026-03-01"))["n"] == 0

    async def test_a_malformed_event_is_skipped(self, ingest: Ingest, read: Read) -> None:
        broken = EventEnvelope(type="response.completed", org="acme", source="survey_api", data={"response_id": 1})
        receipt = await ingest([broken, *scored([10] * 5)])
        assert receipt["processed"] == 6
        assert (await read("nps"))["n"] == 5
