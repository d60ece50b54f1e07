"""Logs: JSON lines or coloured one-line console logs (`CXLOOP_LOG_FORMAT`), with the request id in both."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from cxloop.services import SERVICES
from shared.observability import log_formatter, resolve_log_format
from tests.conftest import TEST_SETTINGS, client_for

OFFLINE = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    access = logging.getLogger("cxloop.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    yield stream, handler
    access.removeHandler(handler)
    access.setLevel(level)


async def _get_healthz(request_id: str) -> None:
    spec = SERVICES["survey_api"]
    app = spec.build(type(spec.settings())(**TEST_SETTINGS, database_url=OFFLINE))
    async with client_for(app, "svc") as client:
        answer = await client.get("/healthz", headers={"X-Request-ID": request_id})
        assert answer.status_code == 200
    await app.state.db.dispose()


async def test_json_log_line_carries_the_request_id_and_fields(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, handler = captured
    handler.setFormatter(log_formatter("json"))
    await _get_healthz("req-json-1")
    entry = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert entry["request_id"] == "req-json-1"
    assert entry["logger"] == "cxloop.access"
    assert entry["level"] == "info"
    assert entry["msg"] == "GET /healthz 200"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/healthz", 200)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", entry["ts"])


async def test_console_log_is_one_coloured_readable_line(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, handler = captured
    handler.setFormatter(log_formatter("console", colors=True))
    await _get_healthz("req-console-1")
    raw = stream.getvalue().rstrip("\n")
    assert "\n" not in raw
    assert "\x1b[" in raw  # coloured
    plain = ANSI.sub("", raw)
    assert "GET /healthz 200" in plain
    assert "request_id=req-console-1" in plain
    assert "status=200" in plain
    assert "[info" in plain and "cxloop.access" in plain
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain)


def test_console_without_colours_has_no_escape_codes(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, handler = captured
    handler.setFormatter(log_formatter("console", colors=False))
    logging.getLogger("cxloop.access").info("plain")
    assert "\x1b[" not in stream.getvalue()


def test_json_exception_is_one_line_with_the_traceback(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, handler = captured
    handler.setFormatter(log_formatter("json"))
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("cxloop.access").exception("failed")
    lines = stream.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert "ValueError: broken" in json.loads(lines[0])["exception"]


@pytest.mark.parametrize(
    ("setting", "env", "tty", "chosen"),
    [
        ("auto", "development", False, "console"),
        ("auto", "production", True, "console"),
        ("auto", "production", False, "json"),
        ("auto", "test", False, "json"),
        ("json", "development", True, "json"),
        ("console", "production", False, "console"),
    ],
)
def test_auto_is_console_on_a_terminal_or_in_development(setting: str, env: str, tty: bool, chosen: str) -> None:
    assert resolve_log_format(setting, env=env, tty=tty) == chosen  # type: ignore[arg-type]
