"""The hosted survey page `/r/{token}` and unsubscribe `/u/{token}`, through ASGI on every backend."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.contacts.models import Contact
from services.survey_api.models import OutboxEvent
from services.survey_api.outreach.invitations import hash_token, new_token
from services.survey_api.outreach.models import Invitation
from services.survey_api.respondent import page as hosted
from services.survey_api.responses.models import SurveyResponse
from shared.db import utcnow
from shared.ids import new_id
from tests.conftest import TokenFactory
from tests.survey_api.helpers import ALL, NPS_PLUS, ok, published_survey

EVERY_KIND: dict[str, Any] = {
    "name": "Every kind",
    "kind": "relational",
    "languages": ["en"],
    "questions": [
        {"key": "nps", "kind": "nps", "required": True, "prompt": {"en": "Recommend us?"}},
        {"key": "csat", "kind": "csat", "prompt": {"en": "Satisfied?"}},
        {"key": "ces", "kind": "ces", "prompt": {"en": "Easy?"}},
        {"key": "stars", "kind": "rating", "scale_min": 0, "scale_max": 4, "prompt": {"en": "Stars?"}},
        {"key": "plan", "kind": "single_choice", "allow_other": True, "prompt": {"en": "Which plan?"},
         "options": [{"code": "basic", "label": {"en": "Basic"}}, {"code": "pro", "label": {"en": "Pro"}}]},
        {"key": "used", "kind": "multi_choice", "prompt": {"en": "Which features?"},
         "options": [{"code": "api", "label": {"en": "API"}}, {"code": "ui", "label": {"en": "Web UI"}}]},
        {"key": "comment", "kind": "text", "max_length": 20, "prompt": {"en": "Anything else?"}},
        {"key": "reasons", "kind": "reasons", "allow_other": True, "prompt": {"en": "Why?"},
         "options": [{"code": "price", "label": {"en": "Price"}}]},
    ],
}  # fmt: skip
FULL = {"nps": "3", "why": "Late again", "reasons": ["delivery", "other"], "reasons_other": "Rude driver"}


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**ALL)


@pytest.fixture
async def survey(survey_client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    return await published_survey(survey_client, headers)


async def make_contact(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    """A contact through the API (`locale` and the rest as given)."""
    body = {"external_id": new_id("ext"), "email": "ann@example.com", **fields}
    return await ok(await client.post("/v1/contacts", json=body, headers=headers), 200, 201)


async def make_invitation(app: FastAPI, survey_id: str, **fields: Any) -> str:
    """An invitation row written directly (status `sent` unless told); returns its token."""
    token, token_hash = new_token()
    values: dict[str, Any] = {"channel": "email", "status": "sent", **fields}
    async with app.state.db.sessions() as session:
        session.add(Invitation(id=new_id("inv"), org="acme", survey_id=survey_id, token_hash=token_hash, **values))
        await session.commit()
    return token


async def invitation_of(app: FastAPI, token: str) -> Invitation:
    session: AsyncSession
    async with app.state.db.sessions() as session:
        found = await session.exec(select(Invitation).where(Invitation.token_hash == hash_token(token)))
        return found.one()


async def responses_of(app: FastAPI) -> list[SurveyResponse]:
    async with app.state.db.sessions() as session:
        return list((await session.exec(select(SurveyResponse))).all())


async def event_types(app: FastAPI) -> list[str]:
    async with app.state.db.sessions() as session:
        rows = (await session.exec(select(OutboxEvent).order_by(OutboxEvent.id))).all()
        return [row.event_type for row in rows]


def fieldset(html: str, key: str) -> str:
    """The markup of one question (its fieldset or div)."""
    match = re.search(rf'<(fieldset|div) class="question[^"]*" id="q-{key}".*?</\1>', html, re.S)
    assert match, f"no question {key!r} in the page"
    return match.group(0)


def form(seen: str, **answers: Any) -> dict[str, Any]:
    return {"_seen": seen, **answers}


class TestOpening:
    async def test_renders_every_question_kind_accessibly(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str]
    ) -> None:
        survey = await published_survey(survey_client, headers, EVERY_KIND)
        token = await make_invitation(survey_app, survey["id"])
        page = await survey_client.get(f"/r/{token}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert '<html lang="en">' in html and "Traceback" not in html
        nps = fieldset(html, "nps")
        assert "<legend" in nps and "Recommend us?" in nps and 'aria-describedby="q-nps-ends"' in nps
        assert [int(v) for v in re.findall(r'type="radio"[^>]*value="(\d+)"', nps)] == list(range(11))
        assert "0 = Not at all likely" in nps and "10 = Extremely likely" in nps and "(required)" in nps
        assert "1 = Very dissatisfied" in fieldset(html, "csat") and "7 = Very easy" in fieldset(html, "ces")
        assert re.findall(r'value="(\d+)"', fieldset(html, "stars")) == ["0", "1", "2", "3", "4"]
        plan = fieldset(html, "plan")
        assert plan.count('type="radio"') == 3 and 'value="other"' in plan and 'name="plan_other"' in plan
        assert fieldset(html, "used").count('type="checkbox"') == 2
        comment = fieldset(html, "comment")
        assert '<label class="prompt" for="q-comment-input">' in comment and 'maxlength="20"' in comment
        reasons = fieldset(html, "reasons")
        assert reasons.count('type="checkbox"') == 2 and "Other (please specify)" in reasons
        assert " hidden" not in html.split("<form", 1)[1].split(">", 1)[0]  # every question on one page
        assert not re.search(r'id="q-[a-z_]+" data-question="[a-z_]+" hidden', html)

    async def test_opening_marks_the_invitation_opened_once(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        for _ in range(2):
            assert (await survey_client.get(f"/r/{token}")).status_code == 200
        invitation = await invitation_of(survey_app, token)
        assert invitation.status == "opened" and invitation.opened_at is not None
        assert (await event_types(survey_app)).count("invitation.opened") == 1

    async def test_headers_keep_the_token_private_and_the_page_uncached(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        page = await survey_client.get(f"/r/{token}")
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "https://" not in page.text  # no CDN: every asset comes from the service

    async def test_first_page_asks_the_score_and_hides_the_rest_without_javascript(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        html = (await survey_client.get(f"/r/{token}")).text
        assert " hidden" not in fieldset(html, "nps").split(">", 1)[0]
        for key in ("why", "reasons", "csat_staff"):
            assert " hidden" in fieldset(html, key).split(">", 1)[0], key
        assert 'data-show-if="{&#34;question&#34;: &#34;nps&#34;' in fieldset(html, "why")
        assert 'name="_seen" value="nps"' in html and ">Next</button>" in html
        assert 'src="../r/static/hosted.js' in html and 'href="../r/static/hosted.css' in html

    async def test_static_assets_ship_with_the_package(self, survey_client: httpx.AsyncClient) -> None:
        css = await survey_client.get("/r/static/hosted.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        script = await survey_client.get("/r/static/hosted.js")
        assert script.status_code == 200 and "data-show-if" in script.text
        assert (await survey_client.get("/r/static/secrets.txt")).status_code == 404


class TestAnswering:
    async def test_steps_without_javascript_save_progress_then_complete(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers)
        token = await make_invitation(survey_app, survey["id"], contact_id=contact["id"])
        await survey_client.get(f"/r/{token}")
        step = await survey_client.post(f"/r/{token}", data=form("nps", nps="3"))
        assert step.status_code == 200
        assert " hidden" not in fieldset(step.text, "why").split(">", 1)[0]  # the follow-up the score shows
        assert ">Submit</button>" in step.text and 'name="_seen" value="csat_staff,nps,reasons,why"' in step.text
        [partial] = await responses_of(survey_app)
        assert partial.answers == {"nps": 3} and not partial.finished and partial.source == "hosted"
        invitation = await invitation_of(survey_app, token)
        assert invitation.status == "started" and invitation.response_id == partial.id
        done = await survey_client.post(f"/r/{token}", data=form("csat_staff,nps,reasons,why", **FULL))
        assert done.status_code == 200 and "Thank you!" in done.text
        [response] = await responses_of(survey_app)
        assert response.id == partial.id and response.finished and response.contact_id == contact["id"]
        assert response.answers == {**FULL, "nps": 3}
        assert (await invitation_of(survey_app, token)).status == "completed"
        types = await event_types(survey_app)
        assert [t for t in types if t.startswith("response.")] == ["response.updated", "response.completed"]
        assert [t for t in types if t.startswith("invitation.")] == [
            "invitation.opened",
            "invitation.started",
            "invitation.completed",
        ]

    async def test_one_page_with_javascript_completes_at_once(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        done = await survey_client.post(f"/r/{token}", data=form("nps,why,reasons,csat_staff", **FULL, csat_staff="4"))
        assert "Thank you!" in done.text
        [response] = await responses_of(survey_app)
        assert response.finished and response.answers == {**FULL, "nps": 3, "csat_staff": 4}
        assert response.channel == "email" and response.language == "en"
        invitation = await invitation_of(survey_app, token)
        assert invitation.status == "completed" and invitation.response_id == response.id

    async def test_answers_display_logic_hides_are_dropped_not_refused(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        seen = "nps,why,reasons,csat_staff"
        done = await survey_client.post(f"/r/{token}", data=form(seen, nps="9", why="typed before", reasons_other="x"))
        assert "Thank you!" in done.text
        assert (await responses_of(survey_app))[0].answers == {"nps": 9}

    async def test_an_optional_score_left_empty_skips_its_follow_up(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str]
    ) -> None:
        optional = [{**q, "required": False} for q in NPS_PLUS["questions"]]
        survey = await published_survey(survey_client, headers, {**NPS_PLUS, "questions": optional})
        token = await make_invitation(survey_app, survey["id"])
        step = await survey_client.post(f"/r/{token}", data=form("nps"))
        assert step.status_code == 200 and ">Submit</button>" in step.text
        assert " hidden" in fieldset(step.text, "why").split(">", 1)[0]
        assert " hidden" not in fieldset(step.text, "reasons").split(">", 1)[0]
        assert await responses_of(survey_app) == []  # nothing answered, nothing stored
        done = await survey_client.post(f"/r/{token}", data=form("nps,reasons,csat_staff", csat_staff="5"))
        assert "Thank you!" in done.text
        assert (await responses_of(survey_app))[0].answers == {"csat_staff": 5}

    async def test_saved_progress_is_shown_again(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        await survey_client.post(f"/r/{token}", data=form("nps", nps="3"))
        html = (await survey_client.get(f"/r/{token}")).text
        assert re.search(r'value="3"\s+checked', fieldset(html, "nps"))
        assert " hidden" not in fieldset(html, "why").split(">", 1)[0]

    async def test_a_cleared_answer_is_removed_from_the_partial_response(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        await survey_client.post(f"/r/{token}", data=form("nps", nps="3"))
        await survey_client.post(f"/r/{token}", data=form("nps", nps="3", csat_staff="2"))
        assert (await responses_of(survey_app))[0].answers == {"nps": 3, "csat_staff": 2}
        page = await survey_client.post(f"/r/{token}", data=form("nps", nps="3"))
        assert page.status_code == 200
        assert (await responses_of(survey_app))[0].answers == {"nps": 3}


class TestErrors:
    async def test_a_required_question_left_empty_is_marked_inline(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        page = await survey_client.post(f"/r/{token}", data=form("nps"))
        assert page.status_code == 422
        assert 'name="_seen" value="nps"' in page.text and ">Next</button>" in page.text  # still page 1
        nps = fieldset(page.text, "nps")
        assert '<p class="error" id="q-nps-error">Please answer this question.</p>' in nps
        assert nps.count('aria-invalid="true" aria-describedby="q-nps-error"') == 11
        assert 'aria-describedby="q-nps-ends q-nps-error"' in nps
        assert 'id="error-summary"' in page.text and 'href="#q-nps-0"' in page.text
        assert "<title>Please check your answers: After delivery</title>" in page.text
        assert await responses_of(survey_app) == []

    async def test_each_invalid_answer_is_shown_next_to_its_field(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        seen = "nps,why,reasons,csat_staff"
        data = form(seen, nps="11", reasons=["delivery", "bogus"], csat_staff="high")
        page = await survey_client.post(f"/r/{token}", data=data)
        assert page.status_code == 422
        assert "Please choose one of the options." in fieldset(page.text, "nps")
        assert "Please choose one of the options." in fieldset(page.text, "reasons")
        assert 'aria-invalid="true"' in fieldset(page.text, "csat_staff")
        assert re.search(r'value="delivery"\s+checked', fieldset(page.text, "reasons"))  # what was posted stays
        assert await responses_of(survey_app) == []

    async def test_text_too_long_and_other_text(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str]
    ) -> None:
        survey = await published_survey(survey_client, headers, EVERY_KIND)
        token = await make_invitation(survey_app, survey["id"])
        data = form("nps,comment,plan", nps="8", comment="x" * 21, plan="other", plan_other="y" * 5001)
        page = await survey_client.post(f"/r/{token}", data=data)
        assert page.status_code == 422
        comment = fieldset(page.text, "comment")
        assert "Please shorten your answer." in comment and 'aria-describedby="q-comment-error"' in comment
        assert 'id="q-plan-other-error"' in fieldset(page.text, "plan")
        assert 'href="#q-plan-other"' in page.text

    async def test_finishing_without_any_answer_is_a_general_error(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str]
    ) -> None:
        body = {**EVERY_KIND, "questions": [{**q, "required": False} for q in EVERY_KIND["questions"]]}
        survey = await published_survey(survey_client, headers, body)
        token = await make_invitation(survey_app, survey["id"])
        seen = ",".join(q["key"] for q in body["questions"])
        page = await survey_client.post(f"/r/{token}", data=form(seen))
        assert page.status_code == 422 and "Please answer at least one question." in page.text


class TestUsedExpiredUnknown:
    async def test_a_second_submit_shows_thanks_and_stores_nothing(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        data = form("nps,why,reasons,csat_staff", **FULL)
        assert (await survey_client.post(f"/r/{token}", data=data)).status_code == 200
        again = await survey_client.post(f"/r/{token}", data={**data, "nps": "10"})
        assert again.status_code == 410 and "Thank you!" in again.text
        opened = await survey_client.get(f"/r/{token}")
        assert opened.status_code == 410 and "Thank you!" in opened.text
        [response] = await responses_of(survey_app)
        assert response.answers["nps"] == 3
        assert (await event_types(survey_app)).count("response.completed") == 1

    async def test_two_submits_at_once_store_one_response(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        data = form("nps,why,reasons,csat_staff", **FULL)
        pages = await asyncio.gather(*(survey_client.post(f"/r/{token}", data=data) for _ in range(3)))
        assert sorted(page.status_code for page in pages) == [200, 410, 410]
        assert all("Thank you!" in page.text for page in pages)
        assert len(await responses_of(survey_app)) == 1
        assert (await event_types(survey_app)).count("invitation.completed") == 1

    async def test_unknown_tokens_get_a_friendly_404(self, survey_client: httpx.AsyncClient) -> None:
        for token in ("nope", "x" * 150):
            page = await survey_client.get(f"/r/{token}", headers={"Accept-Language": "de-DE,de;q=0.9"})
            assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
            assert "Umfrage nicht gefunden" in page.text and '<html lang="de">' in page.text
        posted = await survey_client.post("/r/nope", data={"nps": "3"})
        assert posted.status_code == 404 and "Survey not found" in posted.text

    async def test_expired_invitations_are_gone(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        past = utcnow() - dt.timedelta(days=1)
        for fields in ({"expires_at": past}, {"status": "expired"}, {"status": "bounced"}):
            token = await make_invitation(survey_app, survey["id"], **fields)
            page = await survey_client.get(f"/r/{token}")
            assert page.status_code == 410 and "This survey link has expired" in page.text, fields
            assert (await survey_client.post(f"/r/{token}", data={"nps": "3"})).status_code == 410
        assert await responses_of(survey_app) == []

    async def test_a_closed_survey_is_gone(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        await ok(await survey_client.post(f"/v1/surveys/{survey['id']}/close", headers=headers), 200)
        page = await survey_client.get(f"/r/{token}")
        assert page.status_code == 410 and "This survey is closed" in page.text

    async def test_an_unexpected_failure_is_a_page_not_a_stack_trace(
        self,
        survey_client: httpx.AsyncClient,
        survey_app: FastAPI,
        survey: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        async def broken(*_: Any) -> hosted.Page:
            raise RuntimeError("boom")

        monkeypatch.setattr(hosted, "show", broken)
        token = await make_invitation(survey_app, survey["id"])
        page = await survey_client.get(f"/r/{token}")
        assert page.status_code == 500 and "Something went wrong" in page.text
        assert "boom" not in page.text and "Traceback" not in page.text


class TestLanguage:
    async def test_the_contacts_locale_picks_the_language(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers, locale="de-AT")
        token = await make_invitation(survey_app, survey["id"], contact_id=contact["id"])
        html = (await survey_client.get(f"/r/{token}")).text
        assert '<html lang="de">' in html and "Wie wahrscheinlich" in html
        assert "10 = Äußerst wahrscheinlich" in html and ">Weiter</button>" in html
        done = await survey_client.post(f"/r/{token}", data=form("nps,why,reasons,csat_staff", **FULL))
        assert "Vielen Dank!" in done.text
        assert (await responses_of(survey_app))[0].language == "de"

    async def test_the_invitations_language_comes_first_and_lang_overrides(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers, locale="en")
        token = await make_invitation(survey_app, survey["id"], contact_id=contact["id"], language="de")
        assert '<html lang="de">' in (await survey_client.get(f"/r/{token}")).text
        html = (await survey_client.get(f"/r/{token}?lang=en")).text
        assert '<html lang="en">' in html and 'href="?lang=de"' in html

    async def test_a_language_the_survey_lacks_falls_back_to_its_default(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str]
    ) -> None:
        survey = await published_survey(survey_client, headers, {**NPS_PLUS, "default_language": "de"})
        token = await make_invitation(survey_app, survey["id"], language="fr")
        html = (await survey_client.get(f"/r/{token}")).text
        assert '<html lang="de">' in html and "Wie wahrscheinlich" in html and "Preis" in html


class TestRateLimit:
    async def test_per_token_then_per_address(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        survey_app.state.settings = survey_app.state.settings.model_copy(update={"public_rate_per_minute": 2})
        token = await make_invitation(survey_app, survey["id"])
        statuses = [(await survey_client.get(f"/r/{token}")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = await survey_client.get(f"/r/{token}")
        assert limited.headers["content-type"].startswith("text/html") and int(limited.headers["retry-after"]) >= 1
        assert "Too many requests" in limited.text
        others = [(await survey_client.get(f"/r/other-{i}")).status_code for i in range(8)]
        assert others[:6] == [404] * 6 and others[6:] == [429, 429]  # 10 a minute from one address
        assert (await survey_client.get("/r/static/hosted.css")).status_code == 200  # assets are not limited


class TestUnsubscribe:
    async def test_confirm_then_unsubscribe(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers, locale="de")
        token = await make_invitation(survey_app, survey["id"], contact_id=contact["id"], status="completed")
        page = await survey_client.get(f"/u/{token}")
        assert page.status_code == 200 and "Von Umfragen abmelden" in page.text and '<form method="post">' in page.text
        assert (await self.contact(survey_app, contact["id"])).unsubscribed_at is None  # GET changes nothing
        done = await survey_client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "Sie sind abgemeldet" in done.text
        first = (await self.contact(survey_app, contact["id"])).unsubscribed_at
        assert first is not None
        again = await survey_client.post(f"/u/{token}")
        assert again.status_code == 200
        assert (await self.contact(survey_app, contact["id"])).unsubscribed_at == first
        api = await ok(await survey_client.get(f"/v1/contacts/{contact['id']}", headers=headers), 200)
        assert api["unsubscribed_at"] is not None

    async def test_one_click_post_from_a_mail_client(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers)
        token = await make_invitation(
            survey_app, survey["id"], contact_id=contact["id"], expires_at=utcnow() - dt.timedelta(days=90)
        )
        done = await survey_client.post(
            f"/u/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200 and "You are unsubscribed" in done.text
        assert (await self.contact(survey_app, contact["id"])).unsubscribed_at is not None

    async def test_unknown_or_anonymous_links(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        assert (await survey_client.get("/u/nope")).status_code == 404
        assert (await survey_client.post("/u/nope")).status_code == 404
        token = await make_invitation(survey_app, survey["id"])
        assert (await survey_client.post(f"/u/{token}")).status_code == 404

    @staticmethod
    async def contact(app: FastAPI, contact_id: str) -> Contact:
        session: AsyncSession
        async with app.state.db.sessions() as session:
            found = await session.get(Contact, contact_id)
            assert found is not None
            return found
