"""Contact erasure also redacts what agents wrote on the contact's cases (activities, resolution)."""

from __future__ import annotations

import json

import httpx

from tests.conftest import TokenFactory
from tests.loop_api.events import contact_erased, deliver
from tests.loop_api.helpers import RW, activity, ok, open_case, step

SECRET = "Called Paula Eins on +49 170 1234567"


async def test_erasure_redacts_agent_text(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers, contact_id="ct_9")
    other = await open_case(loop_client, service, headers, contact_id="ct_10")
    for target in (case, other):
        await activity(loop_client, headers, target["id"], text=SECRET)
        await activity(
            loop_client, headers, target["id"], kind="note", text="Paula prefers SMS", reached_customer=False
        )
        await step(loop_client, headers, target["id"], resolution="Refund sent to Paula Eins")
    await deliver(loop_client, service, contact_erased("acme", "ct_9", [case["response_id"]]))
    erased = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers), 200)
    text = json.dumps(erased)
    assert "Paula" not in text and "+49" not in text
    activities = [e for e in erased["timeline"] if e["kind"] == "activity"]
    assert [(a["data"]["kind"], a["data"]["text"]) for a in activities] == [("call", "[erased]"), ("note", "[erased]")]
    assert activities[0]["data"]["first_contact"] is True  # what happened stays, only the words go
    assert erased["resolution"] == "[erased]"
    kept = await ok(await loop_client.get(f"/v1/cases/{other['id']}", headers=headers), 200)
    assert SECRET in json.dumps(kept) and kept["resolution"] == "Refund sent to Paula Eins"
