"""Invitation emails: SMTP settings from one URL, a multipart text + HTML message, and a batch sender.

`SURVEY_SMTP_URL`: `smtp://user:pass@host:587` (port 25 by default; `?starttls=true` requires STARTTLS,
`false` forbids it, absent = use it when the server offers it) or `smtps://…` (implicit TLS, port 465).
A 5xx answer for a message is permanent (the invitation bounces); 4xx, timeouts and lost connections are
transient (it is retried). A message the server accepted is `sent` and `delivered`: later bounce reports
are not read back yet.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from services.survey_api.outreach.links import Links
from services.survey_api.outreach.messages import template_for
from services.survey_api.outreach.transport import InTime, Outcome, always

TIMEOUT_SECONDS = 30.0
# SMTP line endings, headers up to SMTP's line limit: a long unsubscribe URL stays on its header's line.
POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect to the SMTP server."""

    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None


def parse_smtp_url(url: str) -> SmtpConfig:
    """The connection settings an `smtp://` or `smtps://` URL names; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SURVEY_SMTP_URL must look like smtp://user:pass@host:587 or smtps://host:465")
    implicit = parts.scheme == "smtps"
    flag = parse_qs(parts.query).get("starttls", [None])[0]
    start_tls = None if flag is None or implicit else flag.lower() in ("1", "true", "yes")
    return SmtpConfig(
        hostname=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=implicit,
        start_tls=start_tls,
    )


@dataclass(frozen=True)
class Email:
    """What one invitation email says and to whom."""

    to: str
    name: str | None
    survey: str
    language: str | None
    fallback_language: str | None
    links: Links
    reminder: bool = False


def _html(email: Email, greeting: str, ask: str, button: str, ignore: str, unsubscribe: str) -> str:
    url, out = html.escape(email.links.url), html.escape(email.links.unsubscribe_url)
    lang = html.escape(email.language or "en")
    return (
        f'<!doctype html><html lang="{lang}"><body style="font-family:sans-serif;line-height:1.5">'
        f"<p>{html.escape(greeting)}</p><p>{html.escape(ask)}</p>"
        f'<p><a href="{url}" style="display:inline-block;padding:10px 18px;background:#1a56db;color:#fff;'
        f'text-decoration:none;border-radius:4px">{html.escape(button)}</a></p>'
        f'<p style="font-size:13px">{html.escape(ignore)}<br><a href="{url}">{url}</a></p>'
        f'<p style="font-size:12px;color:#666">{html.escape(unsubscribe)} <a href="{out}">{out}</a></p>'
        "</body></html>"
    )


def build_message(email: Email, mail_from: str) -> EmailMessage:
    """The multipart (text + HTML) invitation, with one-click unsubscribe headers (RFC 8058)."""
    texts = template_for(email.language, email.fallback_language)
    greeting = texts.greeting_named.format(name=email.name) if email.name else texts.greeting
    ask = texts.reminder_ask if email.reminder else texts.ask
    message = EmailMessage(policy=POLICY)
    message["Subject"] = (texts.reminder_subject if email.reminder else texts.subject).format(survey=email.survey)
    message["From"] = mail_from
    message["To"] = formataddr((email.name or "", email.to))
    message["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2].strip("> ") or None)
    message["List-Unsubscribe"] = f"<{email.links.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    links = email.links
    message.set_content(
        f"{greeting}\n\n{ask}\n\n{texts.button}: {links.url}\n\n-- \n{texts.unsubscribe} {links.unsubscribe_url}\n"
    )
    message.add_alternative(_html(email, greeting, ask, texts.button, texts.ignore, texts.unsubscribe), subtype="html")
    if email.language:  # after the body: setting content clears Content-* headers
        message["Content-Language"] = email.language
    return message


def _classify(exc: Exception) -> Outcome:
    """Permanent for a 5xx answer about this message; transient for everything else."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return Outcome.permanent(detail) if codes and all(c >= 500 for c in codes) else Outcome.transient(detail)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        detail = f"{exc.code} {exc.message}"
        return Outcome.permanent(detail) if exc.code >= 500 else Outcome.transient(detail)
    return Outcome.transient(f"{type(exc).__name__}: {exc}")


class Mailer:
    """Sends a batch of invitation emails over one SMTP connection."""

    def __init__(self, smtp_url: str, mail_from: str) -> None:
        self.config = parse_smtp_url(smtp_url)
        self.mail_from = mail_from
        self.envelope_from = parseaddr(mail_from)[1] or mail_from

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        return aiosmtplib.SMTP(
            hostname=c.hostname,
            port=c.port,
            username=c.username,
            password=c.password,
            use_tls=c.use_tls,
            start_tls=c.start_tls,
            timeout=TIMEOUT_SECONDS,
        )

    async def send(self, emails: dict[str, Email], in_time: InTime = always) -> dict[str, Outcome]:
        """Each email's outcome, by key; those left out were not tried (out of time, or the connection dropped)."""
        outcomes: dict[str, Outcome] = {}
        client = self._client()
        try:
            await client.connect()
        except Exception as exc:  # no connection: nothing was sent, everything is retried
            failure = _classify(exc)
            return {key: Outcome.transient(failure.error) for key in emails}
        try:
            for key, email in emails.items():
                if not in_time():
                    break
                outcomes[key] = await self._send_one(client, email)
                if not client.is_connected:
                    break
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    client.close()
        return outcomes

    async def _send_one(self, client: aiosmtplib.SMTP, email: Email) -> Outcome:
        data = build_message(email, self.mail_from).as_bytes(policy=POLICY)
        try:
            await client.sendmail(self.envelope_from, [email.to], data)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return _classify(exc)
        return Outcome.ok()
