"""The committed OpenAPI documents: current, valid OpenAPI 3.1, stable operation ids, problem+json errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from cxloop.cli import OPENAPI_DIR, render_openapi
from cxloop.services import SERVICES

METHODS = {"get", "put", "post", "delete", "patch"}


def committed(service: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((OPENAPI_DIR / f"{service}.json").read_text())
    return document


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in document["paths"].values() for method, op in item.items() if method in METHODS]


@pytest.mark.parametrize("service", list(SERVICES))
def test_committed_document_is_current(service: str) -> None:
    path = OPENAPI_DIR / f"{service}.json"
    assert path.exists(), f"{path.name} missing: run `cxloop openapi export`"
    assert path.read_text() == render_openapi(service), f"{path.name} is stale: run `cxloop openapi export`"


@pytest.mark.parametrize("service", list(SERVICES))
def test_document_is_valid_openapi_31(service: str) -> None:
    document = committed(service)
    assert document["openapi"].startswith("3.1")
    validate(document)


@pytest.mark.parametrize("service", list(SERVICES))
def test_operation_ids_are_unique_snake_case_names(service: str) -> None:
    ids = [op["operationId"] for op in operations(committed(service))]
    assert len(ids) == len(set(ids))
    assert all(i.replace("_", "").isalnum() and i.islower() for i in ids), ids


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_error_is_problem_json_and_protected_routes_declare_bearer(service: str) -> None:
    for operation in operations(committed(service)):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert list(response.get("content", {})) == ["application/problem+json"], (operation, status)
        if "401" in operation["responses"]:
            assert operation["security"] == [{"bearerAuth": []}]


def test_export_writes_every_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cxloop import cli

    monkeypatch.setattr(cli, "OPENAPI_DIR", tmp_path / "openapi")
    result = CliRunner().invoke(cli.app, ["openapi", "export"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "openapi").iterdir()) == sorted(f"{s}.json" for s in SERVICES)
    stale_check = CliRunner().invoke(cli.app, ["openapi", "export", "--check"])
    assert stale_check.exit_code == 0
    (tmp_path / "openapi" / "loop_api.json").write_text("{}")
    assert CliRunner().invoke(cli.app, ["openapi", "export", "--check"]).exit_code == 1
