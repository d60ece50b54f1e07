"""What the in-process background loops (dispatcher, sender, sweeper, webhook delivery, key purge) share."""

from __future__ import annotations

import asyncio


async def pause(stop: asyncio.Event, *wakers: asyncio.Event, seconds: float | None) -> None:
    """Wait until `stop` (or one of `wakers`) is set, at most `seconds` (None: no limit)."""
    waiters = [asyncio.ensure_future(event.wait()) for event in (stop, *wakers)]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
