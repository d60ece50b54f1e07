"""Loopback servers for sending tests: a real SMTP server (aiosmtpd) and a tiny SMS provider (Starlette).

Both run in their own thread on a free 127.0.0.1 port and record what they received; tests tell them to
refuse or fail some messages.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.harness import free_port


@dataclass
class SmtpServer:
    """What the SMTP server received, and how it answers: `refuse[address] = "550 …"` refuses a recipient."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The `SURVEY_SMTP_URL` that reaches it."""
        return f"smtp://mailer:secret@127.0.0.1:{self.port}?starttls=false"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages delivered to `address`."""
        with self.lock:
            return [m for m in self.messages if m["To"] and address in m["To"]]

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """Accept any login (the client's AUTH is exercised, not checked); remember the user."""
        if isinstance(data, LoginPassword):
            self.logins.append(data.login.decode())
        return AuthResult(success=True)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        answer = self.refuse.get(address)
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, accepting AUTH without TLS (only for tests)."""
    recorder = SmtpServer(port=free_port())
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=recorder.port,
        auth_require_tls=False,
        authenticator=recorder.authenticate,
    )
    controller.start()
    try:
        yield recorder
    finally:
        controller.stop()


@dataclass
class SmsServer:
    """What the SMS provider received; `status_for[number]` answers once for that number (else 201)."""

    port: int
    received: list[dict[str, str]] = field(default_factory=list)
    status_for: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0

    @property
    def url(self) -> str:
        """The `SURVEY_SMS_URL` that reaches it."""
        return f"http://127.0.0.1:{self.port}/messages"

    async def endpoint(self, request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        form["authorization"] = request.headers.get("authorization", "")
        self.received.append(form)
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.status_for.pop(form.get("To", ""), 201)
        return JSONResponse({"status": "queued" if status < 300 else "error"}, status_code=status)


@contextmanager
def sms_server() -> Iterator[SmsServer]:
    """A small SMS provider (form POST of To, From, Body) served by uvicorn in a thread."""
    recorder = SmsServer(port=free_port())
    app = Starlette(routes=[Route("/messages", recorder.endpoint, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=recorder.port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield recorder
    finally:
        server.should_exit = True
        thread.join(timeout=10)
