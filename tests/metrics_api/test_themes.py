"""Themes and sentiment: the codebook, tagging at ingest (whole words, English and German), re-tagging past
comments, theme impact against hand-computed figures, sentiment, suggestions, erasure, units and the theme
filter on NPS — through metrics_api's HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.metrics_api.themes import retag
from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest
from tests.metrics_api.events import erased_event, question, response_event

Client = httpx.AsyncClient
QUESTIONS = [question("nps", "nps", 0, 10), question("comment", "text")]
LATE = {
    "code": "late_delivery",
    "label": "Late delivery",
    "words": {"en": ["late", "late delivery"], "de": ["verspätet", "zu spät"], "fr": ["délai"]},
}
# (response id, NPS, comment, language, carries late_delivery)
COMMENTS: list[tuple[str, int, str, str | None, bool]] = [
    ("rsp_t01", 2, "The delivery was late again", "en", True),
    ("rsp_t02", 3, "Late  delivery and a RUDE driver", "en", True),
    ("rsp_t03", 10, "I love the chocolate cake", "en", False),  # "late" inside "chocolate"
    ("rsp_t04", 9, "Great service, thank you!", "en", False),
    ("rsp_t05", 5, "Die Lieferung kam zu spät", "de", True),
    ("rsp_t06", 8, "Die verspätete Lieferung war ok", "de", False),  # "verspätet" inside "verspätete"
    ("rsp_t07", 0, "Le délai était trop long", "fr", True),
    ("rsp_t08", 9, "Delivery was on time", "en", False),
    ("rsp_t09", 6, "Die Spätzle waren kalt", "de", False),
    ("rsp_t10", 10, "LATE? Not at all, it came early", "en", True),
]


def events(rows: list[tuple[str, int, str, str | None, bool]] = COMMENTS, **options: Any) -> list[Any]:
    return [
        response_event(
            {"nps": nps, "comment": text},
            questions=QUESTIONS,
            response_id=rid,
            survey_id="srv_t",
            unit=options.get("unit", "emea/de"),
            language=language,
            contact_id=options.get("contact_id"),
        )
        for rid, nps, text, language, _ in rows
    ]


def nps(scores: list[int]) -> float:
    return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


async def get(client: Client, path: str, headers: dict[str, str], status: int = 200, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def create(client: Client, auth: TokenFactory, theme: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = await client.post("/v1/themes", json=theme, headers=auth(scopes="admin"))
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def comment_themes(client: Client, auth: TokenFactory, **params: Any) -> dict[str, list[str]]:
    query = {"survey_id": "srv_t", "question": "comment", "limit": 100, **params}
    page = await get(client, "/v1/comments", auth(scopes="metrics:read"), **query)
    return {item["response_id"]: item["themes"] for item in page["items"]}


@pytest.fixture
async def small_samples(metrics_client: Client, auth: TokenFactory) -> None:
    response = await metrics_client.put("/v1/org-settings", json={"min_sample": 1}, headers=auth())
    assert response.status_code == 200, response.text


class TestCodebook:
    async def test_crud_and_scopes(self, metrics_client: Client, auth: TokenFactory) -> None:
        reader = auth(scopes="metrics:read")
        response = await metrics_client.post("/v1/themes", json=LATE, headers=reader)
        assert response.status_code == 403
        created = await create(metrics_client, auth, LATE)
        assert created["code"] == "late_delivery" and created["retag"] == {"status": "done", "done": 0, "total": 0}
        await create(metrics_client, auth, LATE, status=409)
        await create(metrics_client, auth, {"code": "price", "label": "Price", "words": {"en": ["price"]}})
        page = await get(metrics_client, "/v1/themes", reader, limit=1)
        assert [t["code"] for t in page["items"]] == ["late_delivery"] and page["next_cursor"]
        rest = await get(metrics_client, "/v1/themes", reader, limit=1, cursor=page["next_cursor"])
        assert [t["code"] for t in rest["items"]] == ["price"] and rest["next_cursor"] is None
        renamed = {"label": "Pricing"}
        response = await metrics_client.patch("/v1/themes/price", json=renamed, headers=auth(scopes="admin"))
        assert response.status_code == 200 and response.json()["label"] == "Pricing"
        await get(metrics_client, "/v1/themes/price", auth(org="other", scopes="metrics:read"), status=404)
        response = await metrics_client.delete("/v1/themes/price", headers=auth(scopes="admin"))
        assert response.status_code == 204
        await get(metrics_client, "/v1/themes/price", reader, status=404)

    @pytest.mark.parametrize(
        "body",
        [
            {"code": "Late", "label": "x", "words": {"en": ["late"]}},
            {"code": "late", "label": "x", "words": {}},
            {"code": "late", "label": "x", "words": {"english": ["late"]}},
            {"code": "late", "label": "x", "words": {"en": ["!!"]}},
            {"code": "late", "label": "x", "words": {"en": ["late"]}, "extra": 1},
        ],
    )
    async def test_bad_theme_is_422(self, metrics_client: Client, auth: TokenFactory, body: dict[str, Any]) -> None:
        response = await metrics_client.post("/v1/themes", json=body, headers=auth(scopes="admin"))
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"

    async def test_unknown_query_parameter_is_422(self, metrics_client: Client, auth: TokenFactory) -> None:
        await get(metrics_client, "/v1/themes", auth(scopes="metrics:read"), status=422, colour="red")


class TestTagging:
    async def test_whole_words_in_english_german_and_french(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest
    ) -> None:
        await create(metrics_client, auth, LATE)
        await ingest(events())
        tagged = await comment_themes(metrics_client, auth)
        assert tagged == {rid: (["late_delivery"] if late else []) for rid, _, _, _, late in COMMENTS}

    async def test_theme_added_later_tags_old_comments_and_a_change_retags(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest
    ) -> None:
        await ingest(events())
        assert all(codes == [] for codes in (await comment_themes(metrics_client, auth)).values())
        created = await create(metrics_client, auth, LATE)
        assert created["retag"] == {"status": "done", "done": 10, "total": 10}
        tagged = await comment_themes(metrics_client, auth)
        assert sorted(r for r, codes in tagged.items() if codes) == [r for r, _, _, _, late in COMMENTS if late]
        change = {"words": {"de": ["spätzle"]}}
        response = await metrics_client.patch("/v1/themes/late_delivery", json=change, headers=auth(scopes="admin"))
        assert response.status_code == 200, response.text
        tagged = await comment_themes(metrics_client, auth)
        assert sorted(r for r, codes in tagged.items() if codes) == ["rsp_t09"]
        only = await comment_themes(metrics_client, auth, theme="late_delivery")
        assert list(only) == ["rsp_t09"]

    async def test_large_org_retags_in_the_background_with_progress(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(retag, "INLINE_LIMIT", 3)
        monkeypatch.setattr(retag, "CHUNK", 4)
        await ingest(events())
        created = await create(metrics_client, auth, LATE)
        assert created["retag"] == {"status": "running", "done": 0, "total": 10}
        # the in-process transport returns once the background work after the answer is done
        theme = await get(metrics_client, "/v1/themes/late_delivery", auth(scopes="metrics:read"))
        assert theme["retag"] == {"status": "done", "done": 10, "total": 10}
        tagged = await comment_themes(metrics_client, auth)
        assert sorted(r for r, codes in tagged.items() if codes) == [r for r, _, _, _, late in COMMENTS if late]


class TestThemeImpact:
    def expected(self) -> dict[str, float]:
        scores = [n for _, n, _, _, _ in COMMENTS]
        with_ = [n for _, n, _, _, late in COMMENTS if late]
        without = [n for _, n, _, _, late in COMMENTS if not late]
        share = len(with_) / len(scores)
        return {
            "n": len(scores),
            "nps": nps(scores),
            "count": len(with_),
            "share_pct": 100 * share,
            "nps_with": nps(with_),
            "nps_without": nps(without),
            "points_lost": share * (nps(without) - nps(with_)),
        }

    @pytest.mark.parametrize("source", ["rollups", "facts"])
    async def test_by_hand(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest, small_samples: None, source: str
    ) -> None:
        await create(metrics_client, auth, LATE)
        await ingest(events())
        # a channel filter (every answer came by email) sends the same question to the facts
        extra = {"channel": "email"} if source == "facts" else {}
        query = {"survey_id": "srv_t", "question": "comment", **extra}
        body = await get(metrics_client, "/v1/metrics/themes", auth(scopes="metrics:read"), **query)
        want = self.expected()
        assert body["source"] == source and body["n"] == want["n"] and body["nps"] == pytest.approx(want["nps"])
        assert body["comments"] == 10
        [item] = body["items"]
        assert item["code"] == "late_delivery" and item["label"] == "Late delivery"
        for name in ("count", "share_pct", "nps_with", "nps_without", "points_lost"):
            assert item[name] == pytest.approx(want[name]), name
        assert (want["share_pct"], want["nps_with"], want["nps_without"], want["points_lost"]) == (50, -60, 40, 50)
        # the three English comments are scored; the German and French ones are not
        assert item["sentiment"]["unscored"] == 2 and sum(item["sentiment"].values()) == 5
        assert item["comments"] == 5 and item["comment_share_pct"] == pytest.approx(50.0)

    async def test_theme_filter_on_nps(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest, read: Any, small_samples: None
    ) -> None:
        await create(metrics_client, auth, LATE)
        await ingest(events())
        with_theme = await read("nps", survey_id="srv_t", theme="late_delivery")
        assert with_theme["n"] == 5 and with_theme["value"] == pytest.approx(self.expected()["nps_with"])
        everyone = await read("nps", survey_id="srv_t")
        assert everyone["n"] == 10
        await get(metrics_client, "/v1/metrics/nps", auth(scopes="metrics:read"), status=422, theme="Not A Code")
        await get(metrics_client, "/v1/metrics/response_rate", auth(scopes="metrics:read"), status=422, theme="late")


SENTENCES = [
    ("rsp_s1", 10, "I love it, wonderful and friendly service!", "en"),
    ("rsp_s2", 1, "Terrible, awful experience. I hate it.", "en"),
    ("rsp_s3", 7, "The package arrived on Tuesday.", "en"),
    ("rsp_s4", 9, "Ich liebe diesen wunderbaren Service", "de"),
    ("rsp_s5", 9, "Great stuff", None),
]


class TestSentiment:
    async def test_obvious_sentences_and_unsupported_language(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest, small_samples: None
    ) -> None:
        rows = [(rid, n, text, language, False) for rid, n, text, language in SENTENCES]
        await ingest(events(rows))
        query = {"survey_id": "srv_t", "question": "comment"}
        page = await get(metrics_client, "/v1/comments", auth(scopes="metrics:read"), **query)
        found = {item["response_id"]: item for item in page["items"]}
        assert found["rsp_s1"]["sentiment"]["label"] == "positive" and found["rsp_s1"]["sentiment"]["score"] > 0.5
        assert found["rsp_s2"]["sentiment"]["label"] == "negative" and found["rsp_s2"]["sentiment"]["score"] < -0.5
        assert found["rsp_s3"]["sentiment"] == {"label": "neutral", "score": 0.0}
        assert found["rsp_s4"]["sentiment"] is None
        assert found["rsp_s4"]["sentiment_reason"] == "language_not_supported"
        assert found["rsp_s5"]["sentiment"] is None and found["rsp_s5"]["sentiment_reason"] == "language_unknown"
        mix = await get(metrics_client, "/v1/metrics/sentiment", auth(scopes="metrics:read"), **query)
        assert (mix["comments"], mix["scored"], mix["unscored"]) == (5, 3, 2)
        for name in ("positive", "neutral", "negative"):
            assert mix[name]["count"] == 1 and mix[name]["pct"] == pytest.approx(100 / 3)
        # Wilson 95 % for 1 of 3, by hand
        z, p, n = 1.96, 1 / 3, 3
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
        assert mix["positive"]["ci"]["low"] == pytest.approx(100 * (centre - half))
        assert mix["positive"]["ci"]["high"] == pytest.approx(100 * (centre + half))

    async def test_survey_default_language_when_the_response_has_none(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest
    ) -> None:
        event = response_event(
            {"nps": 3, "comment": "Awful, just awful"},
            questions=QUESTIONS,
            survey_id="srv_t",
            language=None,
            default_language="en",
        )
        await ingest([event])
        query = {"survey_id": "srv_t", "question": "comment"}
        page = await get(metrics_client, "/v1/comments", auth(scopes="metrics:read"), **query)
        [item] = page["items"]
        assert item["language"] == "en" and item["sentiment"]["label"] == "negative"


def planted() -> list[tuple[str, int, str, str | None, bool]]:
    """Detractors who write about a broken zipper, promoters who do not; everyone mentions the jacket."""
    rows: list[tuple[str, int, str, str | None, bool]] = []
    for i in range(12):
        rows.append((f"rsp_d{i:02d}", i % 5, f"The jacket has a broken zipper, order {i}", "en", False))
    for i in range(12):
        rows.append((f"rsp_p{i:02d}", 9 + i % 2, f"The jacket is warm and the colour is nice {i}", "en", False))
    return rows


class TestSuggestions:
    async def test_finds_the_planted_phrase_not_covered_by_a_theme(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest
    ) -> None:
        await ingest(events(planted()))
        query = {"survey_id": "srv_t", "question": "comment"}
        body = await get(metrics_client, "/v1/themes/suggestions", auth(scopes="metrics:read"), **query)
        terms = {item["term"]: item for item in body["items"]}
        assert (body["detractors"], body["promoters"]) == (12, 12)
        assert "broken zipper" in terms and "jacket" not in terms and "the" not in terms
        zipper = terms["broken zipper"]
        assert (zipper["detractors"], zipper["promoters"], zipper["comments"]) == (12, 0, 12)
        assert len(zipper["examples"]) == 2 and all("broken zipper" in e["text"] for e in zipper["examples"])
        await create(metrics_client, auth, {"code": "zipper", "label": "Zipper", "words": {"en": ["zipper"]}})
        body = await get(metrics_client, "/v1/themes/suggestions", auth(scopes="metrics:read"), **query)
        assert not any("zipper" in item["term"] for item in body["items"])

    async def test_examples_stay_inside_the_callers_units(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest
    ) -> None:
        await ingest(events(planted(), unit="emea/de"))
        elsewhere = [(rid.replace("rsp_", "rsp_x"), n, text, lang, late) for rid, n, text, lang, late in planted()]
        await ingest(events(elsewhere, unit="apac/jp"))
        query = {"survey_id": "srv_t", "question": "comment"}
        headers = auth(scopes="metrics:read", units=["emea"])
        body = await get(metrics_client, "/v1/themes/suggestions", headers, **query)
        zipper = next(item for item in body["items"] if item["term"] == "broken zipper")
        assert zipper["detractors"] == 12
        assert all(not e["response_id"].startswith("rsp_x") for e in zipper["examples"])
        page = await get(metrics_client, "/v1/comments", headers, limit=100, **query)
        assert len(page["items"]) == 24 and all(i["unit"] == "emea/de" for i in page["items"])


class TestErasure:
    async def test_erasure_removes_the_contacts_comments(
        self, metrics_client: Client, auth: TokenFactory, ingest: Ingest, small_samples: None
    ) -> None:
        await create(metrics_client, auth, LATE)
        mine, others = COMMENTS[:2], COMMENTS[2:]
        await ingest(events(mine, contact_id="cnt_gone") + events(others))
        await ingest([erased_event("cnt_gone", [r for r, *_ in mine])])
        left = await comment_themes(metrics_client, auth)
        assert sorted(left) == sorted(r for r, *_ in others)
        query = {"survey_id": "srv_t", "question": "comment"}
        body = await get(metrics_client, "/v1/metrics/themes", auth(scopes="metrics:read"), **query)
        assert body["comments"] == 8 and body["items"][0]["comments"] == 3
        # a repeat of an erased contact's response is not stored again
        await ingest(events(mine[:1], contact_id="cnt_gone"))
        assert sorted(await comment_themes(metrics_client, auth)) == sorted(r for r, *_ in others)
