"""Email notifications to the people who own cases, through a real SMTP server on loopback (aiosmtpd).

The org works 09:00-17:00 Monday to Friday in Berlin with a first-contact SLA of 8 business hours and a
resolution SLA of 40: a case opened on Monday 2 March 2026 at 09:00 in Berlin (08:00 UTC) is due for first
contact at 17:00 that day, at risk from 15:24 (80 % of 8 h = 6.4 h), and due for resolution on Friday at 17:00.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from typer.testing import CliRunner

from cxloop import cli
from services.loop_api.cases.sweeper import sweep
from services.loop_api.notifications.sender import notify, notify_loop, send_pending
from services.loop_api.settings import LoopSettings
from services.loop_api.settings import get_settings as loop_settings
from shared.db import Database
from tests.conftest import TokenFactory
from tests.loop_api.events import contact_erased, deliver
from tests.loop_api.helpers import RW, FakeClock, ok, open_case, step
from tests.loop_api.test_rules import make_rule, make_team
from tests.survey_api.fakes import SmtpServer, smtp_server

LINK = "https://cx.example.com/cases/{case_id}"
COMMENT = "The parcel came late and broken"
HOURS = {"timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}
ORG_SETTINGS = {"business_hours": HOURS, "default_sla_first_contact_hours": 8, "default_sla_resolution_hours": 40}
FIRST_CONTACT_DUE = "First contact due: Mon 02 Mar 2026 17:00 CET (Europe/Berlin)"
RESOLUTION_DUE = "Resolution due: Fri 06 Mar 2026 17:00 CET (Europe/Berlin)"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(loop_app: FastAPI, smtp: SmtpServer) -> LoopSettings:
    """loop_api's settings with the loopback SMTP server and a front end's case link."""
    current: LoopSettings = loop_app.state.settings
    return current.model_copy(update={"smtp_url": SecretStr(smtp.url), "public_url": LINK})


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(scopes=RW, sub="lead")


@pytest.fixture
async def org(loop_client: httpx.AsyncClient, auth: TokenFactory, headers: dict[str, str], clock: FakeClock) -> None:
    """Berlin business hours; Ana owns cases in emea/de, Marta looks after the Berlin store."""
    await ok(await loop_client.put("/v1/org-settings", json=ORG_SETTINGS, headers=auth(scopes="admin")))
    await person(loop_client, headers, "ana", "Ana Weber", "ana@example.com")
    await person(loop_client, headers, "marta", "Marta Klein", "marta@example.com", units=["emea/de/berlin"])
    await make_rule(loop_client, headers, assignment={"routes": [{"unit": "emea/de", "owner": "ana"}]})


async def person(
    client: httpx.AsyncClient, headers: dict[str, str], handle: str, name: str, email: str, **extra: Any
) -> dict[str, Any]:
    body = {"handle": handle, "name": name, "email": email, **extra}
    return await ok(await client.post("/v1/people", json=body, headers=headers), 201)


async def notifications(client: httpx.AsyncClient, headers: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    page = await ok(await client.get("/v1/notifications", params=filters, headers=headers))
    items: list[dict[str, Any]] = page["items"]
    return items


def text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content: str = body.get_content()
    return content.replace("\r\n", "\n")


async def detractor(
    client: httpx.AsyncClient, service: dict[str, str], headers: dict[str, str], clock: FakeClock, **event: Any
) -> dict[str, Any]:
    return await open_case(client, service, headers, submitted_at=clock.now, **event)


@pytest.mark.usefixtures("org")
class TestImmediate:
    async def test_a_new_detractor_mails_its_owner_and_the_store_manager_once(
        self,
        loop_app: FastAPI,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        settings: LoopSettings,
        smtp: SmtpServer,
        clock: FakeClock,
    ) -> None:
        case = await detractor(loop_client, service, headers, clock)
        assert case["owner"] == "ana"
        pending = await notifications(loop_client, headers)
        assert [(n["recipient"], n["kind"], n["status"]) for n in pending] == [
            ("ana", "case_assigned", "pending"),
            ("marta", "case_opened", "pending"),
        ]
        assert await send_pending(loop_app.state.db, settings, now=clock.now) == 2
        assert await send_pending(loop_app.state.db, settings, now=clock.advance(minutes=30)) == 0

        [to_ana], [to_marta] = smtp.to("ana@example.com"), smtp.to("marta@example.com")
        assert len(smtp.messages) == 2
        assert to_ana["Subject"] == "Case assigned to you: NPS 3 at emea/de/berlin"
        assert to_ana["To"] == "Ana Weber <ana@example.com>"
        body = text(to_ana)
        assert body.startswith("Hello Ana Weber,\n\nA case was assigned to you.\n")
        assert "Customer's score: NPS 3 (0-10)" in body
        assert f'Customer\'s comment: "{COMMENT}"' in body
        assert FIRST_CONTACT_DUE in body and RESOLUTION_DUE in body
        assert f"Open the case: https://cx.example.com/cases/{case['id']}" in body
        assert to_marta["Subject"] == "New case in your units: NPS 3 at emea/de/berlin"
        assert "A new case was opened in emea/de/berlin, a unit you look after." in text(to_marta)

        sent = await notifications(loop_client, headers, status="sent")
        assert {n["recipient"] for n in sent} == {"ana", "marta"}
        assert all(n["attempts"] == 1 and n["sent_at"] is not None for n in sent)

    async def test_an_erased_contact_leaves_no_comment_in_the_mail(
        self,
        loop_app: FastAPI,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        settings: LoopSettings,
        smtp: SmtpServer,
        clock: FakeClock,
    ) -> None:
        case = await detractor(loop_client, service, headers, clock, contact_id="ct_erase")
        await deliver(loop_client, service, contact_erased("acme", "ct_erase", [case["response_id"]]))
        assert await send_pending(loop_app.state.db, settings, now=clock.now) == 2
        for message in smtp.messages:
            body = text(message)
            assert "Customer's score: NPS 3 (0-10)" in body
            assert "comment" not in body and "parcel" not in body

    async def test_transient_failure_is_retried_with_backoff_and_a_refusal_fails(
        self,
        loop_app: FastAPI,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        settings: LoopSettings,
        smtp: SmtpServer,
        clock: FakeClock,
    ) -> None:
        smtp.refuse["ana@example.com"] = "451 4.3.0 Try again later"
        smtp.refuse["marta@example.com"] = "550 5.1.1 No such user"
        await detractor(loop_client, service, headers, clock)
        assert await send_pending(loop_app.state.db, settings, now=clock.now) == 0
        [ana] = await notifications(loop_client, headers, recipient="ana")
        [marta] = await notifications(loop_client, headers, recipient="marta")
        assert (ana["status"], ana["attempts"]) == ("pending", 1) and "451" in ana["last_error"]
        retry_at = dt.datetime.fromisoformat(ana["next_attempt_at"])
        assert clock.now + dt.timedelta(seconds=48) <= retry_at <= clock.now + dt.timedelta(seconds=60)
        assert (marta["status"], marta["next_attempt_at"]) == ("failed", None) and "550" in marta["last_error"]

        del smtp.refuse["ana@example.com"]
        assert await send_pending(loop_app.state.db, settings, now=clock.advance(seconds=30)) == 0  # not due yet
        assert await send_pending(loop_app.state.db, settings, now=clock.advance(seconds=31)) == 1
        [ana] = await notifications(loop_client, headers, recipient="ana")
        assert (ana["status"], ana["attempts"], ana["last_error"]) == ("sent", 2, None)
        assert len(smtp.to("ana@example.com")) == 1 and smtp.to("marta@example.com") == []

    async def test_an_unreachable_server_keeps_them_pending(
        self,
        loop_app: FastAPI,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        settings: LoopSettings,
        clock: FakeClock,
    ) -> None:
        await detractor(loop_client, service, headers, clock)
        nowhere = settings.model_copy(update={"smtp_url": SecretStr("smtp://127.0.0.1:9?starttls=false")})
        assert await send_pending(loop_app.state.db, nowhere, now=clock.now) == 0
        items = await notifications(loop_client, headers)
        assert {(n["status"], n["attempts"]) for n in items} == {("pending", 1)}
        assert all("Connect" in n["last_error"] or "connect" in n["last_error"] for n in items)

    async def test_reassigning_tells_the_new_owner_but_not_whoever_made_the_change(
        self,
        loop_app: FastAPI,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        auth: TokenFactory,
        settings: LoopSettings,
        smtp: SmtpServer,
        clock: FakeClock,
    ) -> None:
        await person(loop_client, headers, "ben", "Ben Ott", "ben@example.com")
        case = await detractor(loop_client, service, headers, clock)
        await step(loop_client, headers, case["id"], owner="ben")  # by "lead"
        await step(loop_client, auth(scopes=RW, sub="ana"), case["id"], owner="ana")  # Ana takes it back herself
        told = await notifications(loop_client, headers, kind="case_assigned")
        assert [n["recipient"] for n in told] == ["ana", "ben"]
        await send_pending(loop_app.state.db, settings, now=clock.now)
        assert smtp.to("ben@example.com")[0]["Subject"] == "Case assigned to you: NPS 3 at emea/de/berlin"

    async def test_a_case_left_with_a_team_tells_its_members(
        self,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        clock: FakeClock,
    ) -> None:
        await person(loop_client, headers, "ben", "Ben Ott", "ben@example.com")
        team = await make_team(loop_client, headers, "Berlin", "ana", "ben")
        case = await detractor(loop_client, service, headers, clock)
        await step(loop_client, headers, case["id"], team=team, owner=None)
        told = await notifications(loop_client, headers, kind="case_assigned")
        assert [(n["recipient"], n["subject"]) for n in told[1:]] == [
            ("ana", "Case assigned to your team Berlin: NPS 3 at emea/de/berlin"),
            ("ben", "Case assigned to your team Berlin: NPS 3 at emea/de/berlin"),
        ]

    async def test_at_risk_then_breach_escalated_each_told_once(
        self,
        loop_app: FastAPI,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        settings: LoopSettings,
        smtp: SmtpServer,
        clock: FakeClock,
    ) -> None:
        await person(loop_client, headers, "boss", "Bea Boss", "boss@example.com")
        await ok(await loop_client.put("/v1/escalations", json={"items": [{"owner": "boss"}]}, headers=headers))
        case = await detractor(loop_client, service, headers, clock)
        db = loop_app.state.db
        await sweep(db, dt.datetime(2026, 3, 2, 14, 23, tzinfo=dt.UTC))  # 15:23 in Berlin: not yet at risk
        assert await notifications(loop_client, headers, kind="case_at_risk") == []
        for minute in (25, 40):  # 15:25 and 15:40 in Berlin: at risk, told once
            await sweep(db, dt.datetime(2026, 3, 2, 14, minute, tzinfo=dt.UTC))
        [risk] = await notifications(loop_client, headers, kind="case_at_risk")
        assert (risk["recipient"], risk["data"]["clock"]) == ("ana", "first_contact")
        assert risk["subject"] == "Case at risk, first contact due soon: NPS 3 at emea/de/berlin"

        for hour in (16, 17):  # 17:01 and 18:01 in Berlin: breached, escalated once
            await sweep(db, dt.datetime(2026, 3, 2, hour, 1, tzinfo=dt.UTC))
        [breach] = await notifications(loop_client, headers, kind="case_breached")
        assert (breach["recipient"], breach["data"]["from"], breach["data"]["escalated"]) == ("boss", "ana", True)
        await send_pending(db, settings, now=dt.datetime(2026, 3, 2, 17, 2, tzinfo=dt.UTC))
        [mail] = smtp.to("boss@example.com")
        assert mail["Subject"] == "Case escalated to you, first contact overdue: NPS 3 at emea/de/berlin"
        body = text(mail)
        assert "A case missed its first contact deadline and was escalated to you." in body
        assert "Priority: high · Status: open · Owner: boss" in body  # normal → high on escalation
        assert f"Open the case: https://cx.example.com/cases/{case['id']}" in body
        assert len(smtp.to("ana@example.com")) == 2  # assigned, at risk

    async def test_off_writes_nothing(
        self, loop_client: httpx.AsyncClient, service: dict[str, str], headers: dict[str, str], clock: FakeClock
    ) -> None:
        for handle in ("ana", "marta"):
            await ok(await loop_client.patch(f"/v1/people/{handle}", json={"notify": "off"}, headers=headers))
        await detractor(loop_client, service, headers, clock)
        assert await notifications(loop_client, headers) == []


@pytest.mark.usefixtures("org")
async def test_two_replicas_send_each_mail_exactly_once(
    loop_app: FastAPI,
    loop_client: httpx.AsyncClient,
    service: dict[str, str],
    headers: dict[str, str],
    settings: LoopSettings,
    smtp: SmtpServer,
    clock: FakeClock,
) -> None:
    """Two senders with their own connection pools (as two replicas have) drain one table concurrently."""
    for index in range(40):
        await detractor(loop_client, service, headers, clock, contact_id=f"ct_{index}")
    expected = {n["id"] for n in await notifications(loop_client, headers, limit="500")}
    assert len(expected) == 80  # Ana and Marta, each told of every case
    replicas = [Database(loop_app.state.db.url, pool_size=2) for _ in range(2)]
    try:
        sent = await asyncio.gather(*(send_pending(db, settings, now=clock.now) for db in replicas))
    finally:
        for db in replicas:
            await db.dispose()
    assert sum(sent) == 80
    delivered = Counter(m["X-Cxloop-Notification"] for m in smtp.messages)
    assert set(delivered) == expected and set(delivered.values()) == {1}


@pytest.mark.usefixtures("org")
class TestDigest:
    async def test_one_digest_a_day_in_the_org_time_zone_with_what_happened_and_open_cases(
        self,
        loop_app: FastAPI,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        settings: LoopSettings,
        smtp: SmtpServer,
        clock: FakeClock,
    ) -> None:
        await ok(await loop_client.patch("/v1/people/ana", json={"notify": "digest"}, headers=headers))
        first = await detractor(loop_client, service, headers, clock, contact_id="ct_a")
        second = await detractor(
            loop_client, service, headers, clock, contact_id="ct_b", answers={"nps": 5, "why": "Rude driver"}
        )
        queued = await notifications(loop_client, headers, recipient="ana")
        assert {(n["status"], n["delivery"]) for n in queued} == {("queued", "digest")}
        db, evening = loop_app.state.db, settings.model_copy(update={"digest_hour": 18})

        assert await notify(db, evening, now=dt.datetime(2026, 3, 2, 16, 59, tzinfo=dt.UTC)) == (0, 2)  # 17:59
        assert smtp.to("ana@example.com") == []  # Marta's two mails went; Ana waits for her digest
        six_pm = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)  # 18:00 in Berlin
        assert await notify(db, evening, now=six_pm) == (1, 1)
        assert await notify(db, evening, now=six_pm + dt.timedelta(hours=5)) == (0, 0)  # 23:00: that day's is done

        [mail] = smtp.to("ana@example.com")
        assert mail["Subject"] == "Your cxloop digest for 2026-03-02: 2 new, 2 open cases"
        body = text(mail)
        assert "Your cxloop digest for 2026-03-02 (Europe/Berlin)." in body
        assert "What happened (2):" in body
        assert body.count("A case was assigned to you.") == 2
        assert f'Customer\'s comment: "{COMMENT}"' in body and 'Customer\'s comment: "Rude driver"' in body
        assert "Customer's score: NPS 3 (0-10)" in body and "Customer's score: NPS 5 (0-10)" in body
        assert "Your open cases (2):" in body
        for case in (first, second):
            assert body.count(f"https://cx.example.com/cases/{case['id']}") == 2  # as news, and as an open case
        [digest] = await notifications(loop_client, headers, kind="digest")
        items = await notifications(loop_client, headers, recipient="ana", status="digested")
        assert {n["digest_id"] for n in items} == {digest["id"]} and len(items) == 2
        assert digest["status"] == "sent"

        # The next day at 18:00 in Berlin: nothing new, but the two cases are still open.
        assert await notify(db, evening, now=six_pm + dt.timedelta(days=1)) == (1, 1)
        later = text(smtp.to("ana@example.com")[1])
        assert "Nothing new happened since your last digest." in later and "Your open cases (2):" in later

    async def test_a_day_with_nothing_to_report_is_skipped(
        self, loop_app: FastAPI, loop_client: httpx.AsyncClient, headers: dict[str, str], settings: LoopSettings
    ) -> None:
        await ok(await loop_client.patch("/v1/people/marta", json={"notify": "digest"}, headers=headers))
        assert await notify(loop_app.state.db, settings, now=dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)) == (1, 0)
        [digest] = await notifications(loop_client, headers, kind="digest")
        assert (digest["recipient"], digest["status"], digest["last_error"]) == (
            "marta",
            "skipped",
            "nothing to report",
        )

    async def test_leaving_the_digest_sends_what_waited(
        self,
        loop_app: FastAPI,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        settings: LoopSettings,
        smtp: SmtpServer,
        clock: FakeClock,
    ) -> None:
        await ok(await loop_client.patch("/v1/people/ana", json={"notify": "digest"}, headers=headers))
        await detractor(loop_client, service, headers, clock)
        await ok(await loop_client.patch("/v1/people/ana", json={"notify": "immediate"}, headers=headers))
        assert await send_pending(loop_app.state.db, settings, now=clock.now) == 2
        assert len(smtp.to("ana@example.com")) == 1


class TestList:
    async def test_units_restrict_what_a_caller_sees(
        self,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        auth: TokenFactory,
        clock: FakeClock,
    ) -> None:
        await person(loop_client, headers, "ana", "Ana", "ana@example.com", units=["emea", "amer"])
        await detractor(loop_client, service, headers, clock, unit="emea/de/berlin")
        await detractor(loop_client, service, headers, clock, unit="amer/us/nyc")
        every = await notifications(loop_client, headers)
        assert sorted(n["unit"] for n in every) == ["amer/us/nyc", "emea/de/berlin"]
        mine = await notifications(loop_client, auth(scopes="cases:read", units=["emea/de"]))
        assert [n["unit"] for n in mine] == ["emea/de/berlin"]
        other_org = await notifications(loop_client, auth(org="globex", scopes="cases:read"))
        assert other_org == []

    async def test_needs_cases_read_and_takes_only_known_filters(
        self, loop_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        assert (await loop_client.get("/v1/notifications")).status_code == 401
        assert (await loop_client.get("/v1/notifications", headers=auth(scopes="metrics:read"))).status_code == 403
        reader = auth(scopes="cases:read")
        bad = await loop_client.get("/v1/notifications", params={"status": "lost"}, headers=reader)
        assert bad.status_code == 422
        unknown = await loop_client.get("/v1/notifications", params={"owner": "ana"}, headers=reader)
        assert unknown.status_code == 422


@pytest.mark.usefixtures("org")
async def test_cxloop_loop_notify_sends_what_is_pending_once(
    loop_app: FastAPI,
    loop_client: httpx.AsyncClient,
    service: dict[str, str],
    headers: dict[str, str],
    smtp: SmtpServer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await detractor(loop_client, service, headers, clock)
    monkeypatch.setenv("LOOP_DATABASE_URL", loop_app.state.db.url)
    monkeypatch.setenv("LOOP_SMTP_URL", smtp.url)
    loop_settings.cache_clear()
    try:
        first = await asyncio.to_thread(CliRunner().invoke, cli.app, ["loop", "notify"])
        again = await asyncio.to_thread(CliRunner().invoke, cli.app, ["loop", "notify"])
    finally:
        loop_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert "loop_api: 0 digests composed, 2 notifications sent" in first.output
    assert "loop_api: 0 digests composed, 0 notifications sent" in again.output
    assert len(smtp.messages) == 2


@pytest.mark.usefixtures("org")
async def test_the_in_process_sender_mails_a_new_case(
    loop_app: FastAPI,
    loop_client: httpx.AsyncClient,
    service: dict[str, str],
    headers: dict[str, str],
    settings: LoopSettings,
    smtp: SmtpServer,
    clock: FakeClock,
) -> None:
    loop_app.state.settings = settings.model_copy(update={"notify_interval_seconds": 0.05})
    stop = asyncio.Event()
    sender = asyncio.create_task(notify_loop(loop_app, stop))
    try:
        await detractor(loop_client, service, headers, clock)
        for _ in range(400):  # the loop wakes every 50 ms; give a loaded machine up to 20 s
            if len(smtp.messages) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await sender
    assert sorted(m["To"] for m in smtp.messages) == ["Ana Weber <ana@example.com>", "Marta Klein <marta@example.com>"]
    assert {n["status"] for n in await notifications(loop_client, headers)} == {"sent"}
