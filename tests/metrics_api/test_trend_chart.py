"""`GET /v1/scorecards/{unit}/chart.svg`: an accessible SVG of the weekly trend, checked by parsing it and by
rendering it in headless Chromium (Debian's /usr/bin/chromium through Playwright)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest
from tests.metrics_api.events import nps_scores, scored

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parents[1] / "browser" / "artifacts"
# weeks ago -> (promoters, passives, detractors); week 4 has no answers, week 6 too few (3 < min sample 5)
WEEKS = {1: (30, 10, 10), 2: (20, 10, 20), 3: (12, 4, 4), 5: (5, 5, 10), 6: (1, 1, 1), 8: (40, 5, 5)}


HAVE_CHROMIUM = Path(CHROMIUM).exists()


def parse(svg: str) -> ET.Element:
    """The chart's element tree (the service's own output, not untrusted input)."""
    return ET.fromstring(svg)  # noqa: S314


def week_start(weeks_ago: int) -> dt.date:
    today = dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks_ago)


def expected_nps(promoters: int, passives: int, detractors: int) -> tuple[float, float, float]:
    """NPS and its adjusted-Wald 95 % interval (Rocks 2016: n + 3, P + 3/4, D + 3/4), by hand."""
    n = promoters + passives + detractors
    p, d = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
    se = math.sqrt((p + d - (p - d) ** 2) / (n + 3))
    return 100 * (promoters - detractors) / n, 100 * (p - d - 1.96 * se), 100 * (p - d + 1.96 * se)


async def seed(ingest: Ingest, client: httpx.AsyncClient, auth: TokenFactory) -> None:
    for weeks_ago, counts in WEEKS.items():
        day = week_start(weeks_ago) + dt.timedelta(days=2)
        at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        await ingest(scored(nps_scores(*counts), unit="emea/de/berlin", submitted_at=at))
    await ingest(scored(nps_scores(0, 0, 30), unit="amer/us", submitted_at=dt.datetime.combine(
        week_start(1), dt.time(12), tzinfo=dt.UTC)))  # fmt: skip
    period = {"period_start": "2020-01-01", "period_end": "2040-01-01"}
    body = {"metric": "nps", "unit": "emea", "value": 25, **period}
    assert (await client.post("/v1/targets", json=body, headers=auth())).status_code == 201


async def chart(client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: Any) -> httpx.Response:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    return response


async def test_chart_draws_the_weekly_nps_with_intervals_and_target(
    metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest
) -> None:
    await seed(ingest, metrics_client, auth)
    headers = auth(scopes="metrics:read")
    response = await chart(metrics_client, headers, "/v1/scorecards/emea/de/chart.svg", metric="nps", weeks=12)
    assert len(response.content) < 12_000  # small enough to embed
    root = parse(response.text)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-title chart-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert title.text == "NPS per week, emea/de"
    latest = expected_nps(*WEEKS[1])
    assert f"Latest: {latest[0]:.1f}".rstrip("0").rstrip(".") in (desc.text or "")
    assert "Target: 25" in (desc.text or "")
    points = {p.get("data-week"): p for p in root.iter(f"{SVG}circle")}
    shown = {w: c for w, c in WEEKS.items() if sum(c) >= 5}
    assert set(points) == {str(week_start(w)) for w in shown}  # week 4 empty, week 6 below the minimum sample
    for weeks_ago, counts in shown.items():
        point = points[str(week_start(weeks_ago))]
        value, low, high = expected_nps(*counts)
        assert float(point.get("data-value") or "nan") == pytest.approx(value)
        assert float(point.get("data-low") or "nan") == pytest.approx(low)
        assert float(point.get("data-high") or "nan") == pytest.approx(high)
        assert int(point.get("data-n") or 0) == sum(counts)
    # the line breaks at the gaps: weeks 8 | 6 (null) | 5 | 4 (empty) | 3 2 1 | 0 (empty)
    lines = [p.get("points", "").split() for p in root.iter(f"{SVG}polyline")]
    assert sorted(len(line) for line in lines) == [1, 1, 3]
    assert len(list(root.iter(f"{SVG}polygon"))) == 3  # one 95 % band per run
    target = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "target")
    assert target.get("data-value") == "25"
    labels = {t.get("class"): t.text for t in root.iter(f"{SVG}text") if t.get("class") in ("x-label", "y-label")}
    assert labels == {"x-label": "Week starting (Monday)", "y-label": "NPS"}
    ticks = [float(t.get("data-value") or 0) for t in root.iter(f"{SVG}g") if t.get("class") == "y-tick"]
    lows = [expected_nps(*c)[1] for c in shown.values()]
    highs = [expected_nps(*c)[2] for c in shown.values()]
    assert min(ticks) <= min(lows) and max(ticks) >= max(highs)  # the axis covers every band
    await render_and_look(response.text, "trend-chart-nps")


async def test_chart_of_the_org_and_other_metrics_and_bad_input(
    metrics_client: httpx.AsyncClient, auth: TokenFactory, ingest: Ingest
) -> None:
    await seed(ingest, metrics_client, auth)
    headers = auth(scopes="metrics:read")
    org = parse((await chart(metrics_client, headers, "/v1/scorecards/chart.svg", weeks=4)).text)
    week1 = [p for p in org.iter(f"{SVG}circle") if p.get("data-week") == str(week_start(1))]
    promoters, passives, detractors = WEEKS[1]
    assert float(week1[0].get("data-value") or 0) == pytest.approx(
        expected_nps(promoters, passives, detractors + 30)[0]
    )
    empty = parse((await chart(metrics_client, headers, "/v1/scorecards/apac/chart.svg", metric="csat")).text)
    assert not list(empty.iter(f"{SVG}circle"))
    assert "No week has enough answers" in (empty.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    for params in ({"metric": "revenue"}, {"weeks": 1}, {"weeks": 500}, {"colour": "red"}):
        bad = await metrics_client.get("/v1/scorecards/emea/chart.svg", params=params, headers=headers)
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert (await metrics_client.get("/v1/scorecards/emea/chart.svg")).status_code == 401
    outside = await metrics_client.get(
        "/v1/scorecards/emea/chart.svg", headers=auth(scopes="metrics:read", units=["amer"])
    )
    assert outside.status_code == 403


async def render_and_look(svg: str, name: str) -> None:
    """Render the chart in headless Chromium; the drawing must be 640 x 320 with its parts laid out."""
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium")
    facts = await asyncio.to_thread(_render, svg, name)
    assert facts["width"] == 640 and facts["height"] == 320
    assert facts["points"] >= 4 and facts["bands"] == 3
    assert facts["title_width"] > 100  # the title was laid out in a real font
    assert facts["y_label_height"] > 10  # the rotated axis label is vertical


def _render(svg: str, name: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 700, "height": 360})
        page.set_content(f"<!doctype html><body style='margin:0'>{svg}</body>")
        facts: dict[str, Any] = page.evaluate(
            """() => {
              const svg = document.querySelector('svg'), box = svg.getBoundingClientRect();
              return {width: box.width, height: box.height,
                      points: svg.querySelectorAll('circle.point').length,
                      bands: svg.querySelectorAll('polygon.ci-band').length,
                      title_width: svg.querySelector('text').getBBox().width,
                      y_label_height: svg.querySelector('text.y-label').getBoundingClientRect().height};
            }"""
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.locator("svg").screenshot(path=str(ARTIFACTS / f"{name}.png"))
        browser.close()
    return facts
