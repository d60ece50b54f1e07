"""Every declared route between the services is honest: each consumer named in shared/events.py handles it."""

from __future__ import annotations

import datetime as dt

from services.loop_api.clock import Clock
from services.loop_api.events import event_handlers as loop_handlers
from services.metrics_api.events import handlers as metrics_handlers
from services.survey_api.outreach.followups import event_handlers as survey_handlers
from services.survey_api.settings import get_settings
from shared.events import DECLARED


def test_each_declared_consumer_registers_a_handler_and_nobody_handles_an_undeclared_route() -> None:
    services = {
        "survey": survey_handlers(get_settings()),
        "metrics": metrics_handlers,
        "loop": loop_handlers(Clock(), dt.timedelta(days=30)),
    }
    for spec in DECLARED:
        name = spec.name + "sent" if spec.name.endswith(".") else spec.name
        handled_by = tuple(service for service, handlers in services.items() if handlers.accepts(name))
        assert sorted(handled_by) == sorted(spec.consumers), spec.name
