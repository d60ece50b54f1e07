"""Invitation SMS: a body of at most 160 GSM-7 characters, and an HTTP provider adapter.

The provider is the common shape: a form POST of `To`, `From` and `Body` to `SURVEY_SMS_URL` with basic
auth (`SURVEY_SMS_USER`, `SURVEY_SMS_PASSWORD`). 2xx: accepted, so `sent` and `delivered` (there is no
delivery-receipt webhook yet). 5xx, 429, timeouts and connection errors are transient; other 4xx answers
are permanent (the invitation bounces).

The link is never shortened or cut: the survey title gives way (truncated, then dropped), then the text.
Characters outside the GSM-7 alphabet would switch the whole message to UCS-2 (70 characters), so they are
replaced: by their unaccented letter when there is one, else by `?`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import httpx

from services.survey_api.outreach.messages import template_for
from services.survey_api.outreach.transport import InTime, Outcome, always

SMS_LIMIT = 160
TIMEOUT_SECONDS = 15.0
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")  # each takes two septets (an escape, then the character)
# Letters without a decomposition, and typographic punctuation, that have a plain GSM-7 look-alike.
_SIMILAR = {"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
_SIMILAR |= {"\u2013": "-", "\u2014": "-", "\u2026": "..."}


def gsm_length(text: str) -> int:
    """How many GSM-7 septets `text` takes (extension characters count twice)."""
    return sum(2 if ch in GSM_EXTENDED else 1 for ch in text)


def gsm_safe(text: str) -> str:
    """`text` with every character outside GSM-7 replaced: `ł` → `l`, `ő` → `o`, `😀` → `?`; newlines → space."""
    out = []
    for ch in text.replace("\r", " ").replace("\n", " "):
        if ch in GSM_BASIC or ch in GSM_EXTENDED:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch)[:1]
        out.append(base if base in GSM_BASIC else _SIMILAR.get(ch, "?"))
    return "".join(out)


def _cut(name: str, budget: int) -> str:
    """`name` cut to `budget` septets, marked with `...` when cut."""
    if gsm_length(name) <= budget:
        return name
    kept = ""
    for ch in name:
        if gsm_length(kept + ch) > budget - 3:
            break
        kept += ch
    return kept.rstrip() + "..."


def sms_body(*, survey: str, url: str, language: str | None, fallback: str | None, reminder: bool = False) -> str:
    """The SMS: the template with the survey's title cut to fit 160 GSM-7 characters; the link always whole."""
    texts = template_for(language, fallback)
    pattern = gsm_safe(texts.sms_reminder if reminder else texts.sms)
    name = gsm_safe(survey).strip()
    fixed = gsm_length(pattern.replace("{survey}", "").replace("{url}", "")) + gsm_length(url)
    budget = SMS_LIMIT - fixed
    if budget >= len("x..."):
        return pattern.format(survey=_cut(name, budget), url=url)
    return url  # not even the text fits: the link alone (never cut)


@dataclass(frozen=True)
class Sms:
    """One SMS to send."""

    to: str
    body: str


class SmsClient:
    """Posts SMS to an HTTP provider."""

    def __init__(self, url: str, *, user: str | None, password: str | None, sender: str) -> None:
        self.url = url
        self.auth = httpx.BasicAuth(user, password or "") if user else None
        self.sender = sender

    async def send(self, messages: dict[str, Sms], in_time: InTime = always) -> dict[str, Outcome]:
        """Each message's outcome, by key; those left out were not tried (out of time)."""
        outcomes: dict[str, Outcome] = {}
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, auth=self.auth) as client:
            for key, sms in messages.items():
                if not in_time():
                    break
                outcomes[key] = await self._send_one(client, sms)
        return outcomes

    async def _send_one(self, client: httpx.AsyncClient, sms: Sms) -> Outcome:
        form = {"To": sms.to, "From": self.sender, "Body": sms.body}
        try:
            answer = await client.post(self.url, data=form)
        except httpx.HTTPError as exc:
            return Outcome.transient(f"{type(exc).__name__}: {exc}")
        if answer.is_success:
            return Outcome.ok()
        detail = f"HTTP {answer.status_code}: {answer.text[:500]}"
        if 400 <= answer.status_code < 500 and answer.status_code not in (408, 429):
            return Outcome.permanent(detail)
        return Outcome.transient(detail)
