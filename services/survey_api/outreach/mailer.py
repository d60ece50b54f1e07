"""Invitation emails: a multipart text + HTML message with one-click unsubscribe, sent by shared.mail's SMTP sender.

`SURVEY_SMTP_URL` is an SMTP URL as `shared.mail` reads it. A message the server accepted is `sent` and
`delivered`: later bounce reports are not read back yet.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from services.survey_api.outreach.links import Links
from services.survey_api.outreach.messages import template_for
from services.survey_api.outreach.transport import InTime, Outcome, always
from shared import mail
from shared.mail import POLICY

SETTING = "SURVEY_SMTP_URL"


def parse_smtp_url(url: str) -> mail.SmtpConfig:
    """The connection settings of `SURVEY_SMTP_URL`; ValueError for anything but an SMTP URL."""
    return mail.parse_smtp_url(url, setting=SETTING)


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


class Mailer:
    """Sends a batch of invitation emails over one SMTP connection."""

    def __init__(self, smtp_url: str, mail_from: str) -> None:
        self.smtp = mail.SmtpSender(smtp_url, mail_from, setting=SETTING)
        self.mail_from = mail_from

    async def send(self, emails: dict[str, Email], in_time: InTime = always) -> dict[str, Outcome]:
        """Each email's outcome, by key; those left out were not tried (out of time, or the connection dropped)."""
        messages = {key: build_message(email, self.mail_from) for key, email in emails.items()}
        return await self.smtp.send(messages, in_time)
