"""Scales stay whole on a phone, and the experience components are answered in headless Chromium.

Every scale of up to 11 points (NPS 0-10, a 0-10 rating, CES 1-7, CSAT 1-5, emotion's five faces) keeps all
its buttons on one row at 320, 390 and 768 px: the test measures every button's bounding box (one top for all,
inside the viewport, no sideways scrolling). Then a success / effort / emotion survey is answered at 320 px by
pointer and by keyboard alone. Screenshots go to the system's temporary folder (`cxloop-phone-scales/`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.test_hosted_page import CHROMIUM, Server, browser, invite, server, stored

__all__ = ["browser", "server"]  # the module-scoped fixtures, shared with the hosted page's tests

SHOTS = Path(tempfile.gettempdir()) / "cxloop-phone-scales"
SCALES: dict[str, Any] = {
    "name": "Every scale",
    "kind": "transactional",
    "languages": ["en"],
    "questions": [
        {"key": "nps", "kind": "nps", "prompt": {"en": "How likely are you to recommend us to a friend?"}},
        {"key": "quality", "kind": "rating", "scale_min": 0, "scale_max": 10, "prompt": {"en": "Rate the quality"}},
        {"key": "ces", "kind": "ces", "prompt": {"en": "How easy was it to get your issue resolved?"}},
        {"key": "csat", "kind": "csat", "prompt": {"en": "How satisfied are you?"}},
        {"key": "feeling", "kind": "emotion", "prompt": {"en": "How did it make you feel?"}},
    ],
}
POINTS = {"nps": 11, "quality": 11, "ces": 7, "csat": 5, "feeling": 5}
EXPERIENCE: dict[str, Any] = {
    "name": "Support contact",
    "kind": "transactional",
    "languages": ["en"],
    "questions": [
        {"key": "success", "kind": "success", "required": True,
         "prompt": {"en": "Did you get done what you came to do?"}},
        {"key": "missing", "kind": "text", "show_if": {"question": "success", "op": "in", "value": ["partly", "no"]},
         "prompt": {"en": "What was missing?"}},
        {"key": "ces", "kind": "ces", "prompt": {"en": "How easy was it?"}},
        {"key": "feeling", "kind": "emotion", "required": True, "prompt": {"en": "How did it make you feel?"}},
    ],
}  # fmt: skip

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent")


@pytest.fixture
def shots() -> Iterator[Path]:
    SHOTS.mkdir(exist_ok=True)
    yield SHOTS


def page_at(browser: Browser, width: int) -> Page:
    context = browser.new_context(viewport=ViewportSize(width=width, height=900), device_scale_factor=2)
    return context.new_page()


def boxes(page: Page, key: str) -> list[dict[str, float]]:
    """The bounding box of every button (label) of a scale question."""
    found: list[dict[str, float]] = page.eval_on_selector_all(
        f"#q-{key} .points label",
        "labels => labels.map(l => { const r = l.getBoundingClientRect();"
        " return {top: r.top, left: r.left, right: r.right, width: r.width, height: r.height}; })",
    )
    return found


@pytest.mark.parametrize("width", [320, 390, 768])
def test_every_scale_stays_on_one_row(server: Server, browser: Browser, shots: Path, width: int) -> None:
    invited = invite(server, "en", SCALES)
    page = page_at(browser, width)
    page.goto(invited.url)
    for key, points in POINTS.items():
        found = boxes(page, key)
        assert len(found) == points
        tops = {round(box["top"], 1) for box in found}
        assert len(tops) == 1, f"{key} at {width} px wraps: tops {sorted(tops)}"
        assert all(box["left"] >= 0 and box["right"] <= width for box in found), f"{key} overflows at {width} px"
        assert all(box["width"] >= 20 for box in found), f"{key} buttons too narrow at {width} px"
        lefts = [box["left"] for box in found]
        assert lefts == sorted(lefts)  # in scale order, left to right
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width  # no sideways scrolling
    for key in ("nps", "quality", "ces", "csat"):  # the end labels stand under the first and last button
        ends = page.locator(f"#q-{key}-ends span")
        low, high = ends.nth(0).bounding_box(), ends.nth(1).bounding_box()
        first, last = boxes(page, key)[0], boxes(page, key)[-1]
        assert low is not None and high is not None
        assert abs(low["x"] - first["left"]) < 2 and abs(high["x"] + high["width"] - last["right"]) < 2, key
    faces = boxes(page, "feeling")
    assert len({round(box["height"]) for box in faces}) == 1  # five faces of one height
    page.screenshot(path=str(shots / f"scales-{width}.png"), full_page=True)
    page.context.close()


def test_success_and_emotion_by_pointer_at_320(server: Server, browser: Browser, shots: Path) -> None:
    invited = invite(server, "en", EXPERIENCE)
    page = page_at(browser, 320)
    page.goto(invited.url)
    success = page.get_by_role("group", name="Did you get done what you came to do?")
    missing = page.get_by_label("What was missing?")
    expect(missing).to_be_hidden()
    success.get_by_role("radio", name="No", exact=True).check()
    expect(missing).to_be_visible()  # display logic on a success answer, live
    missing.fill("The refund")
    page.get_by_role("group", name="How easy was it?").get_by_role("radio", name="6", exact=True).check()
    feeling = page.get_by_role("group", name="How did it make you feel?")
    for name in ("Very unhappy", "Unhappy", "Neutral", "Happy", "Very happy"):  # every face has its text label
        expect(feeling.get_by_role("radio", name=name, exact=True)).to_have_count(1)
    assert len({round(box["top"], 1) for box in boxes(page, "feeling")}) == 1
    feeling.get_by_role("radio", name="Unhappy", exact=True).check()
    page.screenshot(path=str(shots / "experience-320.png"), full_page=True)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    response, status = stored(server, invited)
    assert response["answers"] == {"success": "no", "missing": "The refund", "ces": 6, "feeling": 2}
    assert status == "completed"
    page.context.close()


def focus(page: Page, name: str) -> None:
    for _ in range(20):
        if page.evaluate("document.activeElement.name") == name:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {name}")


def test_success_and_emotion_by_keyboard_at_320(server: Server, browser: Browser, shots: Path) -> None:
    invited = invite(server, "en", EXPERIENCE)
    page = page_at(browser, 320)
    page.goto(invited.url)
    focus(page, "success")
    page.keyboard.press("ArrowDown")  # moves to and selects the second answer: partly
    expect(page.get_by_role("radio", name="Partly", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "missing"  # shown by the answer just given
    page.keyboard.type("A callback")
    focus(page, "feeling")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="Happy", exact=True)).to_be_checked()
    label_outline = "getComputedStyle(document.activeElement.nextElementSibling).outlineStyle"
    assert page.evaluate(label_outline) == "solid"  # the focused face shows its focus
    page.screenshot(path=str(shots / "experience-keyboard-320.png"), full_page=True)
    page.keyboard.press("Tab")  # from the faces to the submit button
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    response, _ = stored(server, invited)
    assert response["answers"] == {"success": "partly", "missing": "A callback", "feeling": 4}
    page.context.close()
