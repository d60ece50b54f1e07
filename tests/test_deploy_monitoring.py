"""deploy/: the Prometheus alerts and the Grafana dashboard use only metrics the services expose."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
METRIC = re.compile(r"\b((?:cxloop|http)_[a-z_]+)")
SUFFIXES = ("_bucket", "_total", "_count", "_sum")


def source_text() -> str:
    return "\n".join(p.read_text() for d in ("shared", "services") for p in (ROOT / d).rglob("*.py"))


def declared(name: str, source: str) -> bool:
    """Whether the code declares this metric (a counter `x_total` is declared as `x`, a histogram's series too)."""
    base = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name)
    return f'"{name}"' in source or f'"{base}"' in source


def test_alert_rules_parse_and_name_only_exposed_metrics() -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus-alerts.yml").read_text())
    source = source_text()
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert len(alerts) >= 6
    for rule in alerts:
        assert rule["alert"] and rule["expr"] and rule["annotations"]["summary"]
        for name in METRIC.findall(rule["expr"]):
            assert declared(name, source), f"{rule['alert']}: {name} is not a metric of the services"


def test_dashboard_is_grafana_json_on_exposed_metrics() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    source = source_text()
    assert dashboard["uid"] and dashboard["panels"]
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    names = {name for expr in exprs for name in METRIC.findall(expr)}
    assert {"cxloop_outbox_events", "cxloop_outbox_oldest_pending_seconds", "cxloop_cases_open"} <= names
    for name in names:
        assert declared(name, source), name
