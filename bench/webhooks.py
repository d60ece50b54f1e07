"""Webhook delivery: deliveries per second to a fast local receiver, and webhook lag under the single-ingest load.

All three services run (as for the loop lag), survey_api with a `response.*` webhook to bench/receiver.py
(signatures checked with the official Standard Webhooks library).
1. Throughput: 20 batches of 1,000 responses posted back to back; deliveries per second from the first
   arrival to the last, and how long after the last batch was accepted the receiver had them all.
2. Lag: wrk's single-ingest load (16 connections, every score in turn); per event, arrival at the receiver
   minus the event's `occurred_at`, p50 and p99 (target p99 < 5 s).

    .venv/bin/python -m bench.webhooks [--seconds 16]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

import httpx

from bench.harness import Report, Server, Stack, free_port, percentile, token
from bench.ingest import (
    BATCH_SIZE,
    LAG_CONNECTIONS,
    POST_UNIQUE,
    SCOPES,
    batch_body,
    count,
    publish_survey,
    single_body,
    wrk_run,
)

PREFIX = "bench_webhooks"
BATCHES = 20
LAG_TARGET_SECONDS = 5.0
ARRIVAL_LIMIT_SECONDS = 300.0


def receiver_stats(receiver: Server) -> dict[str, Any]:
    """What the receiver has seen."""
    found: dict[str, Any] = httpx.get(receiver.url + "/stats", timeout=60).json()
    return found


def wait_for(receiver: Server, total: int) -> tuple[float | None, float]:
    """Poll until the receiver has `total` distinct messages; (monotonic time of the first arrival seen, of the end)."""
    first: float | None = None
    started = time.monotonic()
    while time.monotonic() - started < ARRIVAL_LIMIT_SECONDS:
        unique = httpx.get(receiver.url + "/stats", timeout=60).json()["unique"]
        if unique and first is None:
            first = time.monotonic()
        if unique >= total:
            break
        time.sleep(0.1)
    return first, time.monotonic()


def throughput(report: Report, *, stack: Stack, receiver: Server, bearer: str, survey_id: str) -> dict[str, float]:
    """Part 1: a backlog of 20,000 responses, delivered to the receiver as fast as the services go."""
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
    survey_db = stack.database_urls["survey"]
    before = count(survey_db, "SELECT count(*) FROM outbox WHERE event_type LIKE 'response.%%'")
    with httpx.Client(base_url=stack.url("survey"), headers=headers, timeout=120) as http:
        for n in range(BATCHES):
            body = batch_body(survey_id).replace("{n}", f"wh-{uuid.uuid4().hex[:8]}-{n}")
            http.post("/v1/responses/batch", content=body).raise_for_status()
    accepted_at = time.monotonic()
    total = count(survey_db, "SELECT count(*) FROM outbox WHERE event_type LIKE 'response.%%'")
    first, last = wait_for(receiver, total)
    seen = receiver_stats(receiver)
    delivered = seen["unique"] - before
    rate = delivered / (last - first) if first is not None and last > first else float("nan")
    section = "webhooks"
    report.add(section, f"deliveries/s, {BATCHES * BATCH_SIZE:,} responses in batches", f"{rate:,.0f}", met=None)
    report.add(section, "all delivered, after the last batch was accepted", f"{last - accepted_at:.1f} s",
               met=seen["unique"] >= total)  # fmt: skip
    return {"webhook_deliveries_per_second": rate, "webhook_backlog_seconds": last - accepted_at}


def lag(report: Report, *, stack: Stack, receiver: Server, bearer: str, survey_id: str, seconds: float
        ) -> dict[str, float]:  # fmt: skip
    """Part 2: webhook lag under the single-ingest load."""
    already = set(receiver_stats(receiver)["ids"])
    env = {"BENCH_BODY": single_body(survey_id, "{score}"), "BENCH_TOKEN": bearer, "BENCH_PATH": "/v1/responses"}
    tag = f"whlag-{uuid.uuid4().hex[:6]}"
    load = wrk_run(stack.url("survey"), POST_UNIQUE, connections=LAG_CONNECTIONS, seconds=seconds,
                   env={**env, "BENCH_RUN": tag})  # fmt: skip
    time.sleep(1.0)  # the requests wrk left in flight finish
    total = count(stack.database_urls["survey"], "SELECT count(*) FROM outbox WHERE event_type LIKE 'response.%%'")
    wait_for(receiver, total)
    seen = receiver_stats(receiver)
    lags = [lag for message_id, lag in zip(seen["ids"], seen["lags"], strict=True) if message_id not in already]
    p50, p99 = percentile(lags, 50), percentile(lags, 99)
    section = "webhooks"
    report.add(section, f"ingest requests/s during the lag run, {LAG_CONNECTIONS} conn", f"{load.rps:,.0f}", met=None)
    report.add(section, "webhook lag p50 s (accepted → received)", f"{p50:.2f}", met=None)
    report.add(section, "webhook lag p99 s (accepted → received)", f"{p99:.2f}", target=f"< {LAG_TARGET_SECONDS:.0f} s",
               met=p99 < LAG_TARGET_SECONDS and seen["unique"] >= total)  # fmt: skip
    report.add(section, "bad signatures / redeliveries", f"{seen['bad_signatures']} / {seen['duplicates']}",
               met=seen["bad_signatures"] == 0)  # fmt: skip
    report.notes.append(
        "webhooks: lag = the receiver's clock at the first arrival of a `webhook-id` minus the event's `timestamp` "
        "(survey_api's `occurred_at`, set by the request just before its commit); one machine, one clock. "
        f"The lag run: {load.requests} requests ({load.errors} errors), {len(lags)} events delivered."
    )
    return {"webhook_lag_p50": p50, "webhook_lag_p99": p99, "webhook_lag_rps": load.rps}


def run(report: Report, *, seconds: float = 16.0) -> dict[str, float]:
    """Both parts on a fresh stack; every figure in `report`."""
    bearer = token([*SCOPES, "admin"])
    stack = Stack.start(prefix=PREFIX, CXLOOP_WEBHOOKS_ALLOW_PRIVATE="true")
    receiver: Server | None = None
    try:
        survey_id = publish_survey(stack.url("survey"), bearer)
        port = free_port()
        hook = {"url": f"http://127.0.0.1:{port}/survey", "event_types": ["response.*"]}
        created = httpx.post(stack.url("survey") + "/v1/webhooks", json=hook, timeout=30,
                             headers={"Authorization": f"Bearer {bearer}"})  # fmt: skip
        secret = created.raise_for_status().json()["secret"]
        command = [sys.executable, "-m", "bench.receiver", "--port", "{port}"]
        env = {**stack.servers["survey"].env, "RECEIVER_SECRETS": secret}
        receiver = Server("receiver", command, env, port=port).start()
        figures = throughput(report, stack=stack, receiver=receiver, bearer=bearer, survey_id=survey_id)
        figures |= lag(report, stack=stack, receiver=receiver, bearer=bearer, survey_id=survey_id, seconds=seconds)
    finally:
        if receiver is not None:
            receiver.stop()
        stack.stop()
    return figures


def main() -> None:
    """Run the webhook benchmark alone and print the markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=16.0)
    args = parser.parse_args()
    report = Report()
    run(report, seconds=args.seconds)
    print(report.markdown())


if __name__ == "__main__":
    main()
