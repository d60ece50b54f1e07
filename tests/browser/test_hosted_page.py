"""The hosted survey page in a real browser: Debian's headless Chromium, driven by Playwright, against a real
uvicorn process of survey_api on migrated SQLite. Screenshots go to tests/browser/artifacts/ (git-ignored).

Playwright's own browser download is never used (`playwright install` is not needed): the tests launch
/usr/bin/chromium and are skipped, saying so, when it is absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
from sqlmodel import Session, create_engine, select

from bench.harness import free_port
from cxloop import supervisor
from cxloop.migrations import upgrade
from services.survey_api.outreach.invitations import hash_token, new_token
from services.survey_api.outreach.models import Invitation
from shared.auth import mint_token
from shared.ids import new_id
from tests.conftest import TEST_SECRET, common_settings
from tests.survey_api.helpers import ALL, NPS_PLUS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = ViewportSize(width=390, height=844)
WORDS = {
    "en": {
        "prompt": "How likely are you to recommend us?",
        "why": "What went wrong?",
        "reason": "Delivery",
        "submit": "Submit",
        "next": "Next",
        "thanks": "Thank you!",
        "low": "0 = Not at all likely",
    },
    "de": {
        "prompt": "Wie wahrscheinlich …?",
        "why": "Was lief schief?",
        "reason": "Lieferung",
        "submit": "Absenden",
        "next": "Weiter",
        "thanks": "Vielen Dank!",
        "low": "0 = Überhaupt nicht wahrscheinlich",
    },
}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)"
)


@dataclass
class Server:
    """A running survey_api process, its database file and a client with an all-scopes token."""

    base_url: str
    database: Path
    api: httpx.Client


def _wait_until_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"survey_api exited: {log.read_text()[-3000:]}")
        if supervisor.is_ready(base_url):
            return
        time.sleep(0.2)
    raise RuntimeError(f"survey_api did not become ready: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """survey_api as a real uvicorn process on a free loopback port, on a freshly migrated SQLite file."""
    folder = tmp_path_factory.mktemp("browser")
    database = folder / "survey.db"
    upgrade("survey_api", f"sqlite:///{database}")
    port, log = free_port(), folder / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXLOOP_", "SURVEY_"))}
    env.update(
        {
            "SURVEY_DATABASE_URL": f"sqlite:///{database}",
            "CXLOOP_JWT_SECRET": TEST_SECRET,
            "CXLOOP_ENV": "test",
            "CXLOOP_BACKGROUND_TASKS": "false",
        }
    )
    command = [sys.executable, "-m", "uvicorn", "services.survey_api.main:app", "--host", "127.0.0.1"]
    with log.open("wb") as output:
        process = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=output, stderr=output)
    base_url = f"http://127.0.0.1:{port}"
    token = mint_token(common_settings(), org="acme", sub="browser-test", scopes=ALL["scopes"].split())
    try:
        _wait_until_ready(base_url, process, log)
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
            yield Server(base_url, database, api)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Invited:
    """A published NPS+ survey, a contact, and the link of the contact's invitation."""

    survey_id: str
    contact_id: str
    invitation_id: str
    url: str


def invite(server: Server, locale: str, survey_body: dict[str, Any] | None = None) -> Invited:
    """Unit, touchpoint, survey (NPS+ unless told) and contact through the API; the invitation row written
    directly."""
    api, unit = server.api, f"store-{new_id('u')[-8:].lower()}"
    _created(api.post("/v1/units", json={"path": unit, "name": unit}))
    touchpoint = _created(
        api.post("/v1/touchpoints", json={"name": f"Delivery {unit}", "journey": "purchase", "stage": "fulfil"})
    )
    body = {**(survey_body or NPS_PLUS), "touchpoint_id": touchpoint["id"]}
    survey = _created(api.post("/v1/surveys", json=body))
    _created(api.post(f"/v1/surveys/{survey['id']}/publish"))
    contact_body = {"external_id": new_id("ext"), "email": "ann@example.com", "locale": locale, "unit": unit}
    contact = _created(api.post("/v1/contacts", json=contact_body))
    token, token_hash = new_token()
    invitation_id = new_id("inv")
    invitation = Invitation(
        id=invitation_id,
        org="acme",
        survey_id=survey["id"],
        contact_id=contact["id"],
        channel="email",
        status="sent",
        token_hash=token_hash,
        unit=unit,
    )
    with Session(create_engine(f"sqlite:///{server.database}")) as session:
        session.add(invitation)
        session.commit()
    return Invited(survey["id"], contact["id"], invitation_id, f"{server.base_url}/r/{token}")


def stored(server: Server, invited: Invited) -> tuple[dict[str, Any], str]:
    """The one response of the survey (through `GET /v1/responses`) and the invitation's status."""
    listed = _created(server.api.get("/v1/responses", params={"survey_id": invited.survey_id}))
    [response] = listed["items"]
    token_hash = hash_token(invited.url.rsplit("/", 1)[1])
    with Session(create_engine(f"sqlite:///{server.database}")) as session:
        invitation = session.exec(select(Invitation).where(Invitation.token_hash == token_hash)).one()
        assert invitation.response_id == response["id"]
        return response, invitation.status


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def phone_page(browser: Browser, *, javascript: bool = True) -> Page:
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript, device_scale_factor=2)
    return context.new_page()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("locale", ["en", "de"])
def test_answering_on_a_phone(server: Server, browser: Browser, locale: str) -> None:
    words, invited = WORDS[locale], invite(server, locale)
    page = phone_page(browser)
    page.goto(invited.url)
    assert page.locator("html").get_attribute("lang") == locale
    scale = page.get_by_role("group", name=words["prompt"])
    expect(scale).to_be_visible()
    expect(page.get_by_text(words["low"])).to_be_visible()
    why = page.get_by_label(words["why"])
    expect(why).to_be_hidden()
    scale.get_by_role("radio", name="3", exact=True).check()
    expect(why).to_be_visible()  # display logic, live
    page.get_by_role("checkbox", name=words["reason"]).check()
    why.fill("The parcel came three days late.")
    screenshot(page, f"hosted-{locale}-answered")
    page.get_by_role("button", name=words["submit"]).click()
    expect(page.get_by_role("heading", name=words["thanks"])).to_be_visible()
    screenshot(page, f"hosted-{locale}-thanks")
    response, status = stored(server, invited)
    assert response["answers"] == {"nps": 3, "reasons": ["delivery"], "why": "The parcel came three days late."}
    assert response["finished"] and response["language"] == locale and response["contact_id"] == invited.contact_id
    assert status == "completed"
    page.context.close()


def test_keyboard_only(server: Server, browser: Browser) -> None:
    words, invited = WORDS["en"], invite(server, "en")
    page = phone_page(browser)
    page.goto(invited.url)
    for _ in range(10):  # Tab past the language links to the scale
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "nps":
            break
    assert page.evaluate("document.activeElement.name") == "nps"
    label_outline = "getComputedStyle(document.activeElement.nextElementSibling).outlineStyle"
    assert page.evaluate(label_outline) == "solid"  # visible focus on the focused point
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # arrow keys move through the radio group and select
    expect(page.locator("#q-nps-3")).to_be_checked()
    expect(page.get_by_label(words["why"])).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "why"
    page.keyboard.type("Too slow")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the first reason
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=words["thanks"])).to_be_visible()
    response, status = stored(server, invited)
    assert response["answers"] == {"nps": 3, "why": "Too slow", "reasons": ["delivery"]}
    assert status == "completed"
    page.context.close()


def test_without_javascript_in_steps(server: Server, browser: Browser) -> None:
    words, invited = WORDS["de"], invite(server, "de")
    page = phone_page(browser, javascript=False)
    page.goto(invited.url)
    why = page.get_by_label(words["why"])
    expect(why).to_be_hidden()
    expect(page.get_by_role("checkbox", name=words["reason"])).to_be_hidden()
    page.get_by_role("group", name=words["prompt"]).get_by_role("radio", name="3", exact=True).check()
    page.get_by_role("button", name=words["next"]).click()  # page 1 posts the score: progress is saved
    expect(why).to_be_visible()  # the server shows the follow-up the score calls for
    _, status = stored(server, invited)
    assert status == "started"
    expect(page.locator("#q-nps-3")).to_be_checked()
    why.fill("Zu spät")
    page.get_by_role("checkbox", name=words["reason"]).check()
    screenshot(page, "hosted-nojs-step2")
    page.get_by_role("button", name=words["submit"]).click()
    expect(page.get_by_role("heading", name=words["thanks"])).to_be_visible()
    response, status = stored(server, invited)
    assert response["answers"] == {"nps": 3, "why": "Zu spät", "reasons": ["delivery"]}
    assert response["finished"] and status == "completed"
    again = page.request.post(invited.url, form={"_seen": "nps,why,reasons,csat_staff", "nps": "9"})
    assert again.status == 410 and words["thanks"] in again.text()  # a second submit stores nothing
    assert page.goto(invited.url).status == 410  # type: ignore[union-attr]
    expect(page.get_by_role("heading", name=words["thanks"])).to_be_visible()
    assert stored(server, invited)[0]["id"] == response["id"]
    page.context.close()
