"""Publishing surveys: versions frozen and answered while the next is edited, close and reopen, completeness."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.survey_api.catalog.surveys import answerable_version
from shared.errors import Conflict, NotFound
from tests.conftest import TokenFactory
from tests.survey_api.test_surveys import READ, WRITE, act, fields, instant, make_survey, nps_only, patch, survey_body
from tests.survey_api.test_touchpoints import problem

Client = httpx.AsyncClient


def state(survey: dict[str, Any]) -> tuple[str, int, int | None, bool]:
    """Where a survey stands: status, working-copy version, published version, unpublished changes."""
    return survey["status"], survey["version"], survey["published_version"], survey["has_unpublished_changes"]


class TestVersioning:
    """Publish freezes a version; edits of a published survey start the next one while respondents keep theirs."""

    async def test_nps_plus_publishes_version_1(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        survey = await make_survey(survey_client, headers)
        published = await act(survey_client, headers, survey["id"], "publish")
        assert state(published) == ("active", 1, 1, False)
        assert published["published_at"] is not None
        assert published["questions"] == survey["questions"]
        frozen = (await survey_client.get(f"/v1/surveys/{survey['id']}/versions/1", headers=headers)).json()
        assert frozen == {
            "survey_id": survey["id"],
            "version": 1,
            "name": "After delivery",
            "title": None,
            "kind": "transactional",
            "audience": "customers",
            "touchpoint_id": None,
            "languages": ["en", "de"],
            "default_language": "en",
            "questions": survey["questions"],
            "published_at": published["published_at"],
        }

    async def test_edit_after_publish_is_the_next_version(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        survey = await make_survey(survey_client, headers)
        sid = survey["id"]
        v1 = await act(survey_client, headers, sid, "publish")
        questions = copy.deepcopy(survey["questions"])
        questions[1]["prompt"]["en"] = "What should we improve?"
        draft = await patch(survey_client, headers, sid, questions=questions)
        assert state(draft) == ("active", 2, 1, True)  # respondents keep answering version 1
        again = await patch(survey_client, headers, sid, name="After delivery 2")  # still draft 2, edited in place
        assert state(again) == ("active", 2, 1, True)
        still = (await survey_client.get(f"/v1/surveys/{sid}/versions/1", headers=headers)).json()
        assert still["questions"] == survey["questions"]
        problem(await survey_client.get(f"/v1/surveys/{sid}/versions/2", headers=headers), 404)
        v2 = await act(survey_client, headers, sid, "publish")
        assert state(v2) == ("active", 2, 2, False)
        assert instant(v2["published_at"]) > instant(v1["published_at"])
        old = (await survey_client.get(f"/v1/surveys/{sid}/versions/1", headers=headers)).json()
        new = (await survey_client.get(f"/v1/surveys/{sid}/versions/2", headers=headers)).json()
        assert (old["name"], old["questions"][1]["prompt"]["en"]) == ("After delivery", "What went wrong?")
        assert (new["name"], new["questions"][1]["prompt"]["en"]) == ("After delivery 2", "What should we improve?")
        listed = (await survey_client.get(f"/v1/surveys/{sid}/versions", headers=headers)).json()
        assert listed == {"items": [old, new], "next_cursor": None}

    async def test_editing_back_leaves_nothing_to_publish(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]
        await act(survey_client, headers, sid, "publish")
        assert (await patch(survey_client, headers, sid, name="Renamed"))["version"] == 2
        back = await patch(survey_client, headers, sid, name="After delivery")
        assert state(back) == ("active", 1, 1, False)
        problem(await survey_client.post(f"/v1/surveys/{sid}/publish", headers=headers), 409)

    async def test_an_unchanged_patch_is_no_edit(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        survey = await make_survey(survey_client, headers)
        published = await act(survey_client, headers, survey["id"], "publish")
        same = await patch(survey_client, headers, survey["id"], name="After delivery", questions=survey["questions"])
        assert same == published

    async def test_contact_frequency_is_not_versioned(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]
        await act(survey_client, headers, sid, "publish")
        changed = await patch(survey_client, headers, sid, contact_frequency_days=0)
        assert (changed["contact_frequency_days"], state(changed)) == (0, ("active", 1, 1, False))

    async def test_nothing_to_publish(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]
        await act(survey_client, headers, sid, "publish")
        detail = problem(await survey_client.post(f"/v1/surveys/{sid}/publish", headers=headers), 409)["detail"]
        assert "Nothing to publish" in detail
        listed = (await survey_client.get(f"/v1/surveys/{sid}/versions", headers=headers)).json()
        assert [v["version"] for v in listed["items"]] == [1]

    async def test_concurrent_publishes_make_one_version(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]
        url = f"/v1/surveys/{sid}/publish"
        responses = await asyncio.gather(*(survey_client.post(url, headers=headers) for _ in range(3)))
        assert sorted(r.status_code for r in responses) == [200, 409, 409]
        listed = (await survey_client.get(f"/v1/surveys/{sid}/versions", headers=headers)).json()
        assert [v["version"] for v in listed["items"]] == [1]


class TestPublishSurvey:
    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers, nps_only()))["id"]
        published = await act(survey_client, headers, sid, "publish")
        assert state(published) == ("active", 1, 1, False)
        assert (await survey_client.get(f"/v1/surveys/{sid}", headers=headers)).json() == published

    async def test_lists_every_problem(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        body = survey_body(languages=["en", "de", "fr"])
        q = body["questions"]
        del q[0]["prompt"]["de"]
        q[1]["show_if"] = {"question": "csat_staff", "op": ">", "value": 3}  # a later question
        q[2]["options"][1]["label"] = {"en": "Price"}
        text = {"kind": "text", "prompt": {"en": "a", "de": "a", "fr": "a"}}
        q.append({**text, "key": "a", "show_if": {"question": "why", "op": "==", "value": 1}})  # a text question
        q.append({**text, "key": "b", "show_if": {"question": "nps", "op": "==", "value": 11}})
        q.append({**text, "key": "c", "show_if": {"question": "csat_staff", "op": "in", "value": [5, 0, 6]}})
        q.append({**text, "key": "d", "show_if": {"question": "gone", "op": "<", "value": 3}})
        sid = (await make_survey(survey_client, headers, body))["id"]
        response = await survey_client.post(f"/v1/surveys/{sid}/publish", headers=headers)
        errors = {e["field"]: e["code"] for e in problem(response, 422)["errors"]}
        missing = "missing_translation"
        assert errors == {
            "questions.0.prompt.de": missing,
            "questions.0.prompt.fr": missing,
            "questions.1.prompt.fr": missing,
            "questions.1.show_if.question": "not_earlier",
            "questions.2.prompt.fr": missing,
            "questions.2.options.0.label.fr": missing,
            "questions.2.options.1.label.de": missing,
            "questions.2.options.1.label.fr": missing,
            "questions.3.prompt.fr": missing,
            "questions.4.show_if.question": "not_scored",
            "questions.5.show_if.value": "out_of_scale",
            "questions.6.show_if.value.1": "out_of_scale",
            "questions.6.show_if.value.2": "out_of_scale",
            "questions.7.show_if.question": "unknown",
        }
        after = (await survey_client.get(f"/v1/surveys/{sid}", headers=headers)).json()
        assert state(after) == ("draft", 1, None, True)

    async def test_show_if_at_the_scale_edges(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        body = survey_body()
        extra = {"kind": "text", "prompt": {"en": "x", "de": "y"}}
        body["questions"] += [
            {**extra, "key": "low", "show_if": {"question": "nps", "op": ">=", "value": 0}},
            {**extra, "key": "high", "show_if": {"question": "nps", "op": "==", "value": 10}},
            {**extra, "key": "staff", "show_if": {"question": "csat_staff", "op": "in", "value": [1, 5]}},
        ]
        sid = (await make_survey(survey_client, headers, body))["id"]
        assert (await act(survey_client, headers, sid, "publish"))["published_version"] == 1


class TestCloseSurvey:
    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]
        published = await act(survey_client, headers, sid, "publish")
        closed = await act(survey_client, headers, sid, "close")
        assert state(closed) == ("closed", 1, 1, False)
        assert closed["closed_at"] is not None
        assert closed["published_at"] == published["published_at"]

    async def test_draft_or_closed_cannot_close(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]
        draft = problem(await survey_client.post(f"/v1/surveys/{sid}/close", headers=headers), 409)
        assert "publish it first" in draft["detail"]
        await act(survey_client, headers, sid, "publish")
        await act(survey_client, headers, sid, "close")
        closed = problem(await survey_client.post(f"/v1/surveys/{sid}/close", headers=headers), 409)
        assert "already closed" in closed["detail"]

    async def test_publish_reopens_the_same_version(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]
        published = await act(survey_client, headers, sid, "publish")
        await act(survey_client, headers, sid, "close")
        reopened = await act(survey_client, headers, sid, "publish")
        assert state(reopened) == ("active", 1, 1, False)
        assert (reopened["closed_at"], reopened["published_at"]) == (None, published["published_at"])
        listed = (await survey_client.get(f"/v1/surveys/{sid}/versions", headers=headers)).json()
        assert [v["version"] for v in listed["items"]] == [1]

    async def test_publish_reopens_with_pending_changes(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]
        await act(survey_client, headers, sid, "publish")
        await act(survey_client, headers, sid, "close")
        edited = await patch(survey_client, headers, sid, name="Reworded")
        assert state(edited) == ("closed", 2, 1, True)
        reopened = await act(survey_client, headers, sid, "publish")
        assert state(reopened) == ("active", 2, 2, False)
        assert reopened["closed_at"] is None


class TestListVersions:
    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]
        assert (await survey_client.get(f"/v1/surveys/{sid}/versions", headers=headers)).json() == {
            "items": [],
            "next_cursor": None,
        }
        for name in ["two", "three", "four"]:
            await act(survey_client, headers, sid, "publish")
            await patch(survey_client, headers, sid, name=name)
        await act(survey_client, headers, sid, "publish")
        seen: list[tuple[int, str]] = []
        params = {"limit": "3"}
        while True:
            page = (await survey_client.get(f"/v1/surveys/{sid}/versions", params=params, headers=headers)).json()
            seen += [(v["version"], v["name"]) for v in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == [(1, "After delivery"), (2, "two"), (3, "three"), (4, "four")]


class TestGetVersion:
    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers, nps_only()))["id"]
        await act(survey_client, headers, sid, "publish")
        frozen = await survey_client.get(f"/v1/surveys/{sid}/versions/1", headers=auth(scopes=READ))
        assert frozen.status_code == 200
        assert (frozen.json()["version"], frozen.json()["questions"][0]["scale_max"]) == (1, 10)

    async def test_missing_version(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers, nps_only()))["id"]
        never = problem(await survey_client.get(f"/v1/surveys/{sid}/versions/1", headers=headers), 404)
        assert "never published" in never["detail"]
        await act(survey_client, headers, sid, "publish")
        later = problem(await survey_client.get(f"/v1/surveys/{sid}/versions/2", headers=headers), 404)
        assert "latest published is 1" in later["detail"]
        assert fields(await survey_client.get(f"/v1/surveys/{sid}/versions/0", headers=headers)) == {"version"}


class TestAnswerableVersion:
    """The domain function the responses module uses to find what a respondent answers."""

    async def test_lifecycle(self, survey_client: Client, survey_app: FastAPI, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        sid = (await make_survey(survey_client, headers))["id"]

        async def answerable(org: str = "acme") -> tuple[str, int]:
            async with survey_app.state.db.sessions() as session:
                survey, version = await answerable_version(session=session, org=org, survey_id=sid)
            return survey.id, version.version

        with pytest.raises(Conflict, match="draft"):
            await answerable()
        await act(survey_client, headers, sid, "publish")
        await patch(survey_client, headers, sid, name="Next")  # a pending draft 2 does not change what is answered
        assert await answerable() == (sid, 1)
        with pytest.raises(NotFound):
            await answerable(org="globex")
        await act(survey_client, headers, sid, "publish")
        assert await answerable() == (sid, 2)
        await act(survey_client, headers, sid, "close")
        with pytest.raises(Conflict, match="closed"):
            await answerable()
