"""The soak: minutes of mixed partner load while a random service is SIGKILLed every 30 s, then exact checks.

All three services run as `cxloop serve` processes on fresh PostgreSQL databases (`bench_soak_*`), with a
webhook on survey_api (`response.*`) and one on loop_api (`case.*`) to a fast local receiver
(bench/receiver.py, signatures checked with the official Standard Webhooks library). Several client
processes post as fast as the stack answers: batches of 100, keyed singles and deliberate replays of a
single with its key and body; a request that fails (connection refused while its service is down, 5xx, a 409
"in flight") is retried with the same key until it gets an answer. Every 30 s a random service is SIGKILLed
and restarted. After the load the stack drains, then the checks are exact: every accepted response stored
once, metrics' counts per score equal to the stored answers, one case per detractor, no dead event, every
webhook event produced received.

    .venv/bin/python -m bench.soak [--minutes 10] [--clients 4] [--kill-every 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.harness import BENCH_DIR, SHORT_NAMES, Report, Server, Stack, free_port, percentile, token
from bench.ingest import count, publish_survey, rows
from bench.soak_client import client
from cxloop import supervisor
from shared.auth import SCOPES

PREFIX = "bench_soak"
DRAIN_LIMIT_SECONDS = 900.0
READY_SECONDS = 600.0  # a shared, loaded machine can take minutes to start a process
RULE = {
    "name": "Detractors",
    "conditions": [{"type": "score", "question_kind": "nps", "op": "<=", "value": 6}],
    "priority": "high",
    "sla": {"first_contact_hours": 24, "resolution_hours": 72},
}


# ---------------------------------------------------------------------------------------------- the stack


def set_up(stack: Stack, bearer: str, receiver_port: int) -> tuple[str, list[str]]:
    """The survey, the detractor rule and one webhook on survey_api and loop_api; the survey id and secrets."""
    survey_id = publish_survey(stack.url("survey"), bearer)
    headers = {"Authorization": f"Bearer {bearer}"}
    httpx.post(stack.url("loop") + "/v1/rules", json=RULE, headers=headers, timeout=30).raise_for_status()
    secrets = []
    for short, patterns in (("survey", ["response.*"]), ("loop", ["case.*"])):
        body = {"url": f"http://127.0.0.1:{receiver_port}/{short}", "event_types": patterns}
        created = httpx.post(stack.url(short) + "/v1/webhooks", json=body, headers=headers, timeout=30)
        secrets.append(created.raise_for_status().json()["secret"])
    return survey_id, secrets


def restart(server: Server) -> float:
    """SIGKILL a service and start it again on its port; seconds until it was ready."""
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=30)
    server.process = None
    started = time.monotonic()
    log = (BENCH_DIR / "logs" / f"{server.name}-{server.port}.log").open("ab")
    command = [part.replace("{port}", str(server.port)) for part in server.command]
    server.process = subprocess.Popen(command, env=server.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    if not supervisor.wait_ready(server.url, seconds=READY_SECONDS):
        print(f"  soak: {server.name} not ready after {READY_SECONDS:.0f} s; carrying on", flush=True)
    return time.monotonic() - started


def pending(stack: Stack) -> int:
    """Events and webhook deliveries still owed anywhere in the stack."""
    owed = sum(
        count(stack.database_urls[s], "SELECT count(*) FROM outbox WHERE status = 'pending'") for s in SHORT_NAMES
    )
    for short in ("survey", "loop"):
        owed += count(stack.database_urls[short], "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
    return owed


# ---------------------------------------------------------------------------------------------- checks


def check(stack: Stack, survey_id: str, tallies: list[dict[str, Any]], receiver: dict[str, Any]) -> dict[str, Any]:
    """The exact comparisons of the soak, as named figures."""
    survey, metrics, loop = (stack.database_urls[s] for s in SHORT_NAMES)
    accepted: dict[str, str] = {}
    for tally in tallies:
        accepted |= tally["accepted"]
    stored_rows = rows(
        survey, "SELECT external_id, id, (answers->>'nps')::int FROM responses WHERE survey_id = %s", survey_id
    )
    stored = {external_id: response_id for external_id, response_id, _ in stored_rows}
    by_score = Counter(score for *_, score in stored_rows)
    facts = dict(
        rows(
            metrics,
            "SELECT score, count(*) FROM score_facts WHERE survey_id = %s AND kind = 'nps' GROUP BY score",
            survey_id,
        )
    )
    cases = rows(loop, "SELECT count(*), count(DISTINCT response_id) FROM cases")[0]
    produced = {r[0] for r in rows(survey, "SELECT id FROM outbox WHERE event_type LIKE 'response.%%'")}
    produced |= {r[0] for r in rows(loop, "SELECT id FROM outbox WHERE event_type LIKE 'case.%%'")}
    received = set(receiver["ids"])
    deliveries = [
        rows(stack.database_urls[s], "SELECT count(*), count(DISTINCT (webhook_id, event_id)) FROM webhook_deliveries")[
            0
        ]
        for s in ("survey", "loop")
    ]
    return {
        "accepted": len(accepted),
        "stored": len(stored_rows),
        "lost": len(set(accepted) - set(stored)),
        "duplicated": len(stored_rows) - len(stored),
        "id_mismatches": sum(1 for k, v in accepted.items() if stored.get(k, v) != v),
        "stored_not_acknowledged": len(set(stored) - set(accepted)),
        "metrics_by_score_equal": dict(facts) == dict(by_score),
        "metrics_n": sum(facts.values()),
        "detractors": sum(n for score, n in by_score.items() if score <= 6),
        "cases": cases[0],
        "cases_distinct_responses": cases[1],
        "dead": sum(
            count(stack.database_urls[s], "SELECT count(*) FROM outbox WHERE status = 'dead'") for s in SHORT_NAMES
        ),
        "webhook_events_produced": len(produced),
        "webhook_events_received": len(produced & received),
        "webhook_events_missing": len(produced - received),
        "webhook_redeliveries": receiver["duplicates"],
        "bad_signatures": receiver["bad_signatures"],
        "delivery_rows": sum(d[0] for d in deliveries),
        "delivery_rows_duplicated": sum(d[0] - d[1] for d in deliveries),
        "webhook_lag_p50": percentile(receiver["lags"], 50),
        "webhook_lag_p99": percentile(receiver["lags"], 99),
    }


# ---------------------------------------------------------------------------------------------- the run


def run(report: Report, *, minutes: float = 10.0, clients: int = 4, kill_every: float = 30.0) -> dict[str, Any]:
    """Start, load while killing, drain, check; the figures (also as rows of `report`)."""
    bearer = token(list(SCOPES))
    stack = Stack.start(prefix=PREFIX, CXLOOP_WEBHOOKS_ALLOW_PRIVATE="true")
    receiver_port = free_port()
    survey_id, secrets = set_up(stack, bearer, receiver_port)
    command = [sys.executable, "-m", "bench.receiver", "--port", "{port}"]
    env = {**stack.servers["survey"].env, "RECEIVER_SECRETS": ",".join(secrets)}
    receiver = Server("receiver", command, env, port=receiver_port).start()
    out_dir = BENCH_DIR / "logs" / f"soak-{uuid.uuid4().hex[:6]}"
    out_dir.mkdir(parents=True)
    rng = random.Random(2026)  # noqa: S311 - which service to kill, not secrets
    kills: list[tuple[float, str, float]] = []  # when, which, seconds to ready
    spawn = multiprocessing.get_context("spawn")
    try:
        outs = [str(out_dir / f"client-{i}.json") for i in range(clients)]
        ready = [spawn.Event() for _ in range(clients)]
        start_at = spawn.Value("d", 0.0)  # set once every client is ready to send (imports take a while)
        workers = [
            spawn.Process(
                target=client,
                args=(i, stack.url("survey"), bearer, survey_id, minutes * 60, outs[i], ready[i], start_at),
            )
            for i in range(clients)
        ]
        for worker in workers:
            worker.start()
        for flag in ready:
            flag.wait()
        started = time.time()
        start_at.value = started
        deadline = started + minutes * 60
        while time.time() + kill_every < deadline:
            time.sleep(kill_every)
            victim = rng.choice(SHORT_NAMES)
            at = time.time()
            kills.append((at - started, victim, restart(stack.servers[victim])))
            print(f"  soak: killed {victim} at {at - started:.0f} s, ready again in {kills[-1][2]:.1f} s", flush=True)
        for worker in workers:
            worker.join()
        load_seconds = time.time() - started
        drain_started = time.monotonic()
        while pending(stack) and time.monotonic() - drain_started < DRAIN_LIMIT_SECONDS:
            time.sleep(1.0)
        drained = time.monotonic() - drain_started
        tallies = [json.loads(Path(out).read_text()) for out in outs]
        seen = httpx.get(receiver.url + "/stats", timeout=60).json()
        figures = check(stack, survey_id, tallies, seen)
    finally:
        receiver.stop()
        stack.stop()
    figures |= summary(tallies, kills, load_seconds, drained, minutes=minutes, clients=clients)
    add_rows(report, figures)
    return figures


def summary(
    tallies: list[dict[str, Any]],
    kills: list[tuple[float, str, float]],
    load_seconds: float,
    drained: float,
    *,
    minutes: float,
    clients: int,
) -> dict[str, Any]:
    """The load-side figures: statuses, rate, 409s after kills, time to drain."""
    statuses: Counter[str] = Counter()
    for tally in tallies:
        statuses.update(tally["statuses"])
    accepted = sum(len(t["accepted"]) for t in tallies)
    blocked = [b for t in tallies for b in t["blocked"]]
    return {
        "minutes": minutes,
        "clients": clients,
        "kills": [f"{victim} at {at:.0f} s (ready in {ready:.0f} s)" for at, victim, ready in kills],
        "requests": sum(t["requests"] for t in tallies),
        "statuses": dict(statuses),
        "server_errors": sum(len(t["server_errors_at"]) for t in tallies),
        "conflicts": sum(len(t["conflicts_at"]) for t in tallies),
        "longest_blocked_key_seconds": max(blocked, default=0.0),
        "replay_mismatches": sum(t["replay_mismatches"] for t in tallies),
        "gave_up": statuses.get("gave up", 0),
        "load_seconds": load_seconds,
        "rate": accepted / load_seconds,
        "drain_seconds": drained,
    }


def add_rows(report: Report, f: dict[str, Any]) -> None:
    """The soak's rows: each exact check met or not."""
    s = "soak"
    load = f"{f['minutes']:g} min, {f['clients']} clients, {len(f['kills'])} kills: accepted responses/s"
    report.add(s, load, f"{f['rate']:,.0f}", met=None)
    report.add(
        s,
        "accepted / stored / lost / duplicated",
        f"{f['accepted']:,} / {f['stored']:,} / {f['lost']} / {f['duplicated']}",
        target="0 lost, 0 duplicated",
        met=f["lost"] == f["duplicated"] == f["id_mismatches"] == 0,
    )
    report.add(
        s,
        "metrics n vs stored (every score's count equal)",
        f"{f['metrics_n']:,} vs {f['stored']:,}",
        target="equal",
        met=f["metrics_by_score_equal"],
    )
    report.add(
        s,
        "cases vs detractors",
        f"{f['cases']:,} vs {f['detractors']:,}",
        target="equal",
        met=f["cases"] == f["detractors"] == f["cases_distinct_responses"],
    )
    report.add(s, "outbox dead", str(f["dead"]), target="0", met=f["dead"] == 0)
    report.add(
        s,
        "webhook events received / produced",
        f"{f['webhook_events_received']:,} / {f['webhook_events_produced']:,}",
        target="all",
        met=f["webhook_events_missing"] == 0 and f["bad_signatures"] == 0,
    )
    report.add(
        s,
        "webhook delivery rows duplicated",
        str(f["delivery_rows_duplicated"]),
        target="0",
        met=f["delivery_rows_duplicated"] == 0,
    )
    report.add(s, "5xx seen by clients", str(f["server_errors"]), target="0", met=f["server_errors"] == 0)
    report.add(
        s,
        "409s (key in flight) / longest blocked key",
        f"{f['conflicts']} / {f['longest_blocked_key_seconds']:.1f} s",
        target="no storm after a kill",
        met=None,
    )
    report.add(
        s, "time to drain after the load", f"{f['drain_seconds']:.0f} s", target="< 60 s", met=f["drain_seconds"] < 60
    )
    report.add(s, "webhook lag p50 / p99", f"{f['webhook_lag_p50']:.1f} / {f['webhook_lag_p99']:.1f} s", met=None)
    report.notes.append(
        f"soak: kills {', '.join(f['kills'])}; client statuses {f['statuses']}; "
        f"{f['requests']:,} requests; {f['webhook_redeliveries']} webhook redeliveries (same "
        f"webhook-id, at least once); {f['stored_not_acknowledged']} stored responses whose answer "
        f"a client never saw; replays answering another id: {f['replay_mismatches']}; "
        f"requests given up: {f['gave_up']}"
    )


def main() -> None:
    """Run the soak alone; the markdown goes to bench/results/soak-<date>.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--kill-every", type=float, default=30.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report = Report()
    figures = run(report, minutes=args.minutes, clients=args.clients, kill_every=args.kill_every)
    today = dt.date.today().isoformat()
    text = f"# Soak — {today}\n\n" + report.markdown() + "\n```json\n" + json.dumps(figures, indent=1) + "\n```\n"
    out = args.out or BENCH_DIR / "results" / f"soak-{today}.md"
    out.write_text(text)
    print(text)
    print(f"written to {out}")
    failed = any(row.met is False for row in report.rows)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
