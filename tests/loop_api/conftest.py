"""Fixtures of the loop_api tests: a controllable clock and survey_api's dispatcher token."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.conftest import TokenFactory
from tests.loop_api.helpers import MONDAY, FakeClock


@pytest.fixture
def clock(loop_app: FastAPI) -> FakeClock:
    """loop_api's clock, at MONDAY 08:00 UTC until moved."""
    fake = FakeClock(MONDAY)
    loop_app.state.clock.source = fake
    return fake


@pytest.fixture
def service(auth: TokenFactory) -> dict[str, str]:
    """The headers of survey_api's dispatcher."""
    return auth(org="system", scopes="events:write", sub="survey-dispatcher")
