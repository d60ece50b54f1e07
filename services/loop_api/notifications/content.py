"""What a notification says about a case: the customer's scores and comment, due times in the org's zone, its link."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from services.loop_api.models import Case

SCORED = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "rating": "Rating", "emotion": "Emotion"}
COMMENT_CHARS = 1000


def _questions(case: Case) -> list[dict[str, Any]]:
    return [q for q in case.snapshot.get("questions", []) if isinstance(q, dict)]


def scores(case: Case) -> list[str]:
    """Each scored answer, like `NPS 3 (0-10)`; kept once the contact is erased (scores are anonymous)."""
    answers, lines = case.snapshot.get("answers", {}), []
    for question in _questions(case):
        label, value = SCORED.get(str(question.get("kind"))), answers.get(question.get("key"))
        if label is None or not isinstance(value, int) or isinstance(value, bool):
            continue
        low, high = question.get("scale_min"), question.get("scale_max")
        scale = f" ({low}-{high})" if low is not None and high is not None else ""
        named = "" if question.get("key") == question.get("kind") else f" · {question.get('key')}"
        lines.append(f"{label} {value}{scale}{named}")
    return lines


def headline(case: Case) -> str:
    """The first score and where: `NPS 3 at emea/de/berlin` (for subjects)."""
    first = next(iter(scores(case)), "a response")
    return f"{first.split(' (')[0]} at {case.unit}" if case.unit else first.split(" (")[0]


def comment(case: Case) -> str | None:
    """What the customer wrote (the text answers), or None: erasing the contact removed them from the case."""
    answers = case.snapshot.get("answers", {})
    texts = [answers.get(q.get("key")) for q in _questions(case) if q.get("kind") == "text"]
    written = " / ".join(t.strip() for t in texts if isinstance(t, str) and t.strip())
    return written[:COMMENT_CHARS] if written else None


def local_time(instant: dt.datetime, timezone: str) -> str:
    """An instant as the org reads it: `Mon 02 Mar 2026 11:00 CET (Europe/Berlin)`."""
    return f"{instant.astimezone(ZoneInfo(timezone)):%a %d %b %Y %H:%M %Z} ({timezone})"


def case_link(base_url: str, case_id: str) -> str:
    """The case's link: `{case_id}` in the base URL is replaced (a front end's page), else the API's case URL."""
    if "{case_id}" in base_url:
        return base_url.replace("{case_id}", case_id)
    return f"{base_url.rstrip('/')}/v1/cases/{case_id}"


def due_lines(case: Case, timezone: str) -> list[str]:
    """The clocks still running and when each is due, in the org's time zone."""
    lines = []
    if case.first_contact_at is None and case.resolved_at is None:
        lines.append(f"First contact due: {local_time(case.due_first_contact_at, timezone)}")
    if case.resolved_at is None:
        lines.append(f"Resolution due: {local_time(case.due_resolution_at, timezone)}")
    return lines
