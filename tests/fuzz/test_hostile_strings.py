"""Schemathesis cases of all three services, their strings salted with NUL bytes and lone surrogates, sent
in-process to the apps on PostgreSQL (which refuses U+0000 in text and JSON): no answer is a 5xx."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from shared.auth import SCOPES, mint_token
from tests.conftest import Backend, client_for, common_settings

TOKEN = mint_token(common_settings(), org="fuzz", sub="fuzzer", scopes=SCOPES, ttl_seconds=3600)
EXAMPLES = settings(
    max_examples=3, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
SALTS = ("\x00", "\ud800", "a\x00b", "\udfff\x00")


def _salted(value: Any, salt: str, *, surrogates: bool = True) -> Any:
    """Every string inside `value` with `salt` appended (lone surrogates only where JSON carries them)."""
    if not surrogates:  # a URL carries UTF-8, which has no lone surrogates: NUL bytes there
        salt = "".join(c for c in salt if not 0xD800 <= ord(c) <= 0xDFFF) or "\x00"
    if isinstance(value, str):
        return value + salt
    if isinstance(value, dict):
        return {
            _salted(k, salt, surrogates=surrogates) if isinstance(k, str) else k: _salted(
                v, salt, surrogates=surrogates
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_salted(v, salt, surrogates=surrogates) for v in value]
    return value


def _cases(app: FastAPI) -> list[schemathesis.Case]:
    """A few generated cases of every operation of the app's OpenAPI document."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    cases: list[schemathesis.Case] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @EXAMPLES
        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        def collect(case: schemathesis.Case) -> None:
            cases.append(case)

        try:
            collect()
        except Unsatisfiable:
            continue
    return cases


def _request(case: schemathesis.Case, salt: str) -> httpx.Request:
    """The case as an HTTP request, every string of its path, query and JSON body salted."""
    path_params = {k: _salted(str(v), salt, surrogates=False) for k, v in (case.path_parameters or {}).items()}
    path = case.path.format(**{k: quote(v, safe="") for k, v in path_params.items()})
    query = _salted(dict(case.query or {}), salt, surrogates=False)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    body = None if case.body is None or not isinstance(case.body, (dict, list, str)) else case.body
    content = json.dumps(_salted(body, salt)).encode() if body is not None else None  # \ud800 escaped: valid JSON
    return httpx.Request(case.method.upper(), f"http://fuzz{path}", params=query, headers=headers, content=content)


@pytest.mark.parametrize("app_name", ["survey_app", "metrics_app", "loop_app"])
async def test_hostile_strings_never_give_a_5xx(app_name: str, backend: Backend, apps: dict[str, FastAPI]) -> None:
    if backend.name != "postgres":
        pytest.skip("PostgreSQL is the database that refuses NUL; SQLite stores it")
    app = apps[app_name]
    failures: list[str] = []
    async with client_for(app, "fuzz") as client:
        cases = _cases(app)
        assert len(cases) > 20  # every operation contributed
        for index, case in enumerate(cases):
            sent = _request(case, SALTS[index % len(SALTS)])
            answer = await client.send(sent)
            if answer.status_code >= 500:
                failures.append(
                    f"{sent.method} {sent.url} {sent.content[:300]!r} → {answer.status_code} {answer.text[:300]}"
                )
    assert not failures, "\n".join(failures)
