"""Email over SMTP for every service: the server from one URL, what a send reports, and a batch sender.

An SMTP URL is `smtp://user:pass@host:587` (port 25 by default; `?starttls=true` requires STARTTLS, `false`
forbids it, absent = use it when the server offers it) or `smtps://…` (implicit TLS, port 465).
A 5xx answer for a message is permanent; 4xx, timeouts and lost connections are transient (retry later).
A message the server accepted is `ok`: later bounce reports are not read back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

TIMEOUT_SECONDS = 30.0
# SMTP line endings, headers up to SMTP's line limit: a long URL in a header stays on its header's line.
POLICY = policy.SMTP.clone(max_line_length=998)

InTime = Callable[[], bool]
"""True while a batch may still start another message (its claim's lease is not half used up)."""


def always() -> bool:
    """An `InTime` without a deadline."""
    return True


@dataclass(frozen=True)
class Outcome:
    """The result of one send: `ok`, `transient` (retry later) or `permanent` (the address takes no mail)."""

    kind: Literal["ok", "transient", "permanent"]
    error: str | None = None

    @classmethod
    def ok(cls) -> Outcome:
        """Accepted by the server or provider."""
        return cls("ok")

    @classmethod
    def transient(cls, error: str | None) -> Outcome:
        """Failed in a way that may pass: retried with backoff."""
        return cls("transient", (error or "transient failure")[:2000])

    @classmethod
    def permanent(cls, error: str | None) -> Outcome:
        """Refused for good: the address or number does not take messages."""
        return cls("permanent", (error or "permanent failure")[:2000])


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect to the SMTP server."""

    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None


def parse_smtp_url(url: str, *, setting: str = "the SMTP URL") -> SmtpConfig:
    """The connection settings an `smtp://` or `smtps://` URL names; ValueError (naming `setting`) otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"{setting} must look like smtp://user:pass@host:587 or smtps://host:465")
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


def classify(exc: Exception) -> Outcome:
    """Permanent for a 5xx answer about this message; transient for everything else."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return Outcome.permanent(detail) if codes and all(c >= 500 for c in codes) else Outcome.transient(detail)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        detail = f"{exc.code} {exc.message}"
        return Outcome.permanent(detail) if exc.code >= 500 else Outcome.transient(detail)
    return Outcome.transient(f"{type(exc).__name__}: {exc}")


class SmtpSender:
    """Sends a batch of messages over one SMTP connection, each to the addresses of its `To` header."""

    def __init__(self, smtp_url: str, mail_from: str, *, setting: str = "the SMTP URL") -> None:
        self.config = parse_smtp_url(smtp_url, setting=setting)
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

    async def send(self, messages: Mapping[str, EmailMessage], in_time: InTime = always) -> dict[str, Outcome]:
        """Each message's outcome, by key; those left out were not tried (out of time, or the connection dropped)."""
        outcomes: dict[str, Outcome] = {}
        client = self._client()
        try:
            await client.connect()
        except Exception as exc:  # no connection: nothing was sent, everything is retried
            failure = classify(exc)
            return {key: Outcome.transient(failure.error) for key in messages}
        try:
            for key, message in messages.items():
                if not in_time():
                    break
                outcomes[key] = await self._send_one(client, message)
                if not client.is_connected:
                    break
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    client.close()
        return outcomes

    async def _send_one(self, client: aiosmtplib.SMTP, message: EmailMessage) -> Outcome:
        recipients = [address for _, address in getaddresses(message.get_all("To", [])) if address]
        try:
            await client.sendmail(self.envelope_from, recipients, message.as_bytes(policy=POLICY))
        except (aiosmtplib.SMTPException, OSError) as exc:
            return classify(exc)
        return Outcome.ok()
