"""The service's time source: the wall clock in production, a fixed or moving one in tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from shared.db import utcnow


@dataclass
class Clock:
    """What "now" is for the routes, the event handler and the sweeper of one app (tests replace `source`)."""

    source: Callable[[], dt.datetime] = field(default=utcnow)

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        return self.source()


def current_time(request: Request) -> dt.datetime:
    """FastAPI dependency: the current instant by the app's clock."""
    clock: Clock = request.app.state.clock
    return clock.now()


Now = Annotated[dt.datetime, Depends(current_time)]
