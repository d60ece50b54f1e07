"""A soak client (bench/soak.py), kept light to import: batches, keyed singles and deliberate replays, each retried
with its Idempotency-Key until it gets an answer other than a connection error, a 5xx or a 409 (key in flight)."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BATCH = 100
GIVE_UP_SECONDS = 300.0


@dataclass
class Tally:
    """What one client saw."""

    accepted: dict[str, str] = field(default_factory=dict)  # external id -> response id
    statuses: Counter[str] = field(default_factory=Counter)
    conflicts_at: list[float] = field(default_factory=list)  # when a 409 (key in flight) was answered
    server_errors_at: list[float] = field(default_factory=list)
    blocked: list[float] = field(default_factory=list)  # seconds a request kept getting 409 before its answer
    replay_mismatches: int = 0
    requests: int = 0


def send(http: httpx.Client, tally: Tally, path: str, body: dict[str, Any], key: str) -> httpx.Response | None:
    """POST until an answer other than a crash, a 5xx or a 409 (same key each time); None if it gave up."""
    started, first_conflict = time.time(), None
    while time.time() - started < GIVE_UP_SECONDS:
        tally.requests += 1
        try:
            answer = http.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            tally.statuses["connection error"] += 1
            time.sleep(0.2)
            continue
        tally.statuses[str(answer.status_code)] += 1
        if answer.status_code >= 500:
            tally.server_errors_at.append(time.time())
        elif answer.status_code == 409:
            tally.conflicts_at.append(time.time())
            first_conflict = first_conflict or time.time()
        else:
            if first_conflict is not None:
                tally.blocked.append(time.time() - first_conflict)
            return answer
        time.sleep(0.2)
    tally.statuses["gave up"] += 1
    return None


def client(index: int, survey_url: str, bearer: str, survey_id: str, seconds: float, out: str, ready: Any,
           start_at: Any) -> None:  # fmt: skip
    """One client process: batches, keyed singles and replays for `seconds` from `start_at` (set by the soak once
    every client has said it is `ready`); its tally as JSON in `out`."""
    rng, tally = random.Random(index), Tally()  # noqa: S311 - a load mix, not secrets  # noqa: S311 - a load mix, not secrets
    singles: list[tuple[str, dict[str, Any], str]] = []  # key, body, response id
    headers = {"Authorization": f"Bearer {bearer}"}
    with httpx.Client(base_url=survey_url, headers=headers, timeout=60) as http:
        ready.set()
        while not start_at.value:
            time.sleep(0.05)
        deadline, n = start_at.value + seconds, 0
        while time.time() < deadline:
            n += 1
            roll = rng.random()
            if roll < 0.1 and singles:
                key, body, first_id = rng.choice(singles)
                answer = send(http, tally, "/v1/responses", body, key)
                if answer is not None and answer.json().get("id") != first_id:
                    tally.replay_mismatches += 1
            elif roll < 0.55:
                body = {"survey_id": survey_id, "external_id": f"c{index}-s{n}", "answers": {"nps": rng.randint(0, 10)}}
                answer = send(http, tally, "/v1/responses", body, key := f"c{index}-s{n}")
                if answer is not None and answer.status_code in (200, 201):
                    tally.accepted[body["external_id"]] = answer.json()["id"]
                    singles.append((key, body, answer.json()["id"]))
            else:
                items = [
                    {
                        "survey_id": survey_id,
                        "external_id": f"c{index}-b{n}-{i}",
                        "answers": {"nps": rng.randint(0, 10)},
                    }
                    for i in range(BATCH)
                ]
                answer = send(http, tally, "/v1/responses/batch", {"items": items}, f"c{index}-b{n}")
                if answer is not None and answer.status_code in (200, 201):
                    for item in answer.json()["items"]:
                        tally.accepted[items[item["index"]]["external_id"]] = item["id"]
    Path(out).write_text(json.dumps(tally.__dict__))
