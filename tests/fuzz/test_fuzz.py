"""Fuzz every operation of every OpenAPI document against the real services: no 5xx, answers match the schema.

Each service runs as a `cxloop serve` process on loopback with a fresh SQLite database; schemathesis loads
the service's own `/openapi.json` and generates requests (a bounded number per operation, derandomized so a
CI run is repeatable) with a valid all-scopes token, so the fuzzing reaches past authentication.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from cxloop.migrations import upgrade
from shared.auth import SCOPES, mint_token
from tests.conftest import common_settings
from tests.e2e.stack import Stack

SERVICE_NAMES = {"survey": "survey_api", "metrics": "metrics_api", "loop": "loop_api"}
TOKEN = mint_token(common_settings(), org="fuzz", sub="fuzzer", scopes=SCOPES, ttl_seconds=24 * 3600)
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
]


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("fuzz")
    urls = {short: f"sqlite:///{folder / short}.db" for short in SERVICE_NAMES}
    for short, url in urls.items():
        upgrade(SERVICE_NAMES[short], url)
    stack = Stack(database_urls=urls, log_dir=Path(folder))
    try:
        for short in SERVICE_NAMES:
            stack.start(short)
        yield stack
    finally:
        stack.stop()


FUZZ = settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def _failures(stack: Stack, short: str) -> list[str]:
    """Fuzz every operation of one service in both modes; every failure, described."""
    schema = schemathesis.openapi.from_url(f"{stack.url(short)}/openapi.json")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

            try:
                run()
            except Unsatisfiable:  # nothing to break in this mode (an operation without parameters)
                continue
            except Exception as exc:  # a hypothesis-shrunk failure of this operation
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:3000])
    return failures


@pytest.mark.parametrize("short", list(SERVICE_NAMES))
def test_no_server_errors_and_answers_match_the_schema(short: str, fuzz_stack: Stack) -> None:
    failures = _failures(fuzz_stack, short)
    assert not failures, "\n\n".join(failures) + "\n" + fuzz_stack.logs()[-6000:]
