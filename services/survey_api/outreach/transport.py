"""What a transport (email, SMS) reports for one message: sent, or failed transiently or for good."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

InTime = Callable[[], bool]
"""True while a batch may still start another message (its claim's lease is not half used up)."""


@dataclass(frozen=True)
class Outcome:
    """The result of one send: `ok`, `transient` (retry later) or `permanent` (the invitation bounces)."""

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


def always() -> bool:
    """An `InTime` without a deadline."""
    return True
