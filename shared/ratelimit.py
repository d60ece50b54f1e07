"""In-process rate limits: a token bucket per key (a client address, an invitation token), as dependencies.

Limits are per process: every replica, and every uvicorn worker, keeps its own buckets, so N processes
together allow up to N times the configured rate. The client address is the one uvicorn reports: behind a
reverse proxy, run uvicorn with `--proxy-headers --forwarded-allow-ips=<the proxy>` so that it is the
caller's address and not the proxy's (otherwise every caller shares one bucket).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from fastapi import Request

from shared.errors import TooManyRequests

KeyFunc = Callable[[Request], str | None]
Rate = int | Callable[[Request], int]
MAX_KEYS = 100_000


class TokenBuckets:
    """Token buckets by key: each holds up to `per_minute` tokens and regains `per_minute` tokens a minute.

    At most `max_keys` buckets are kept; the least recently used one is forgotten first (a forgotten key
    starts again with a full bucket), so memory stays bounded whatever keys callers send.
    """

    def __init__(self, *, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, when)
        self.max_keys = max_keys
        self.clock = clock

    def take(self, key: str, per_minute: int) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until a token is available again."""
        now, capacity = self.clock(), float(per_minute)
        rate = capacity / 60.0
        tokens, when = self._buckets.pop(key, (capacity, now))
        tokens = min(capacity, tokens + max(0.0, now - when) * rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return 0.0 if allowed else (1.0 - tokens) / rate

    def __len__(self) -> int:
        return len(self._buckets)


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (see the module about proxies)."""
    return request.client.host if request.client is not None else "unknown"


def path_param(name: str) -> KeyFunc:
    """A key function: the value of a path parameter (e.g. an invitation token); None skips the limit."""

    def key(request: Request) -> str | None:
        value = request.path_params.get(name)
        return str(value)[:200] if value else None

    return key


def buckets(request: Request, bucket_name: str) -> TokenBuckets:
    """The app's buckets named `bucket_name` (created on first use; each app, and process, has its own)."""
    registry: dict[str, TokenBuckets] | None = getattr(request.app.state, "rate_limit_buckets", None)
    if registry is None:
        registry = request.app.state.rate_limit_buckets = {}
    if bucket_name not in registry:
        registry[bucket_name] = TokenBuckets()
    return registry[bucket_name]


def rate_limit(
    bucket_name: str, per_minute: Rate, *, key: KeyFunc = client_address
) -> Callable[[Request], Awaitable[None]]:
    """A dependency allowing `per_minute` requests a minute per key (the client address unless told); else 429.

    `per_minute` may be a function of the request, to read it from the app's settings. The 429 is a
    problem+json with `Retry-After` (whole seconds).
    """

    async def limit(request: Request) -> None:
        value = key(request)
        if value is None:
            return
        allowed = per_minute(request) if callable(per_minute) else per_minute
        wait = buckets(request, bucket_name).take(value, allowed)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"Too many requests ({allowed} a minute); retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )

    return limit
