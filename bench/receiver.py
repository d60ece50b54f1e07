"""A fast local webhook receiver for the benchmarks: checks every signature with the official Standard Webhooks
library, notes each message id's first arrival and its lag (arrival minus the event's `timestamp`), answers 204.

    python -m bench.receiver --port 9000     # secrets in RECEIVER_SECRETS (comma-separated whsec_…)

`GET /stats`: `{received, unique, duplicates, bad_signatures, ids, lags}`; `GET /readyz`: 200.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Receiver:
    """The ASGI app and what it has seen."""

    def __init__(self, secrets: list[str]) -> None:
        self.verifiers = [Webhook(secret) for secret in secrets]
        self.first: dict[str, float] = {}  # message id -> lag in seconds at its first arrival
        self.received = 0
        self.duplicates = 0
        self.bad_signatures = 0

    def note(self, body: bytes, headers: dict[str, str]) -> None:
        """Count one delivery: its signature checked, its first arrival and lag kept."""
        self.received += 1
        if not any(self._verifies(v, body, headers) for v in self.verifiers):
            self.bad_signatures += 1
            return
        message_id = headers["webhook-id"]
        if message_id in self.first:
            self.duplicates += 1
            return
        occurred = dt.datetime.fromisoformat(json.loads(body)["timestamp"])
        self.first[message_id] = (dt.datetime.now(dt.UTC) - occurred).total_seconds()

    @staticmethod
    def _verifies(verifier: Webhook, body: bytes, headers: dict[str, str]) -> bool:
        try:
            verifier.verify(body, headers, json_parse=False)
        except WebhookVerificationError:
            return False
        return True

    def stats(self) -> dict[str, Any]:
        """What was received so far."""
        return {
            "received": self.received,
            "unique": len(self.first),
            "duplicates": self.duplicates,
            "bad_signatures": self.bad_signatures,
            "ids": list(self.first),
            "lags": list(self.first.values()),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self.note(body, headers)
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        answer = json.dumps(self.stats() if scope["path"] == "/stats" else {"status": "ok"}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer})


def main() -> None:
    """Serve the receiver on loopback."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    secrets = [s for s in os.environ.get("RECEIVER_SECRETS", "").split(",") if s]
    uvicorn.run(Receiver(secrets), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
