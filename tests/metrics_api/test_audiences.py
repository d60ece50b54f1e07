"""Audiences and purposes: employee answers never mix into customer figures and are anonymous below the minimum
sample; follow-up answers stay out of the org's metrics unless their survey is named."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import days_ago, invitation_event, nps_scores, scored

NULL_COUNTS = {"value": None, "n": None, "promoters": None, "passives": None, "detractors": None}


def nps_of(promoters: int, passives: int, detractors: int) -> float:
    """NPS by hand."""
    return 100.0 * (promoters - detractors) / (promoters + passives + detractors)


async def _org_with_employees(ingest: Ingest) -> None:
    """Customers: 6 promoters, 2 passives, 2 detractors (NPS 40); employees: 2, 3, 5 in two stores (eNPS -30)."""
    await ingest(scored(nps_scores(6, 2, 2), survey_id="srv_customers", unit="emea/berlin", contact_id="cnt_c"))
    employees = nps_scores(2, 3, 5)
    await ingest(
        scored(employees[:8], survey_id="srv_pulse", unit="emea/berlin", audience="employees", contact_id="cnt_e")
        + scored(employees[8:], survey_id="srv_pulse", unit="emea/paris", audience="employees", contact_id="cnt_f")
    )


async def test_employee_answers_leave_customer_nps_alone_and_give_the_enps(ingest: Ingest, read: Read) -> None:
    await _org_with_employees(ingest)
    customers = await read("nps")
    assert (customers["value"], customers["n"], customers["audience"]) == (nps_of(6, 2, 2), 10, "customers")
    assert (customers["promoters"], customers["passives"], customers["detractors"]) == (6, 2, 2)
    employees = await read("nps", audience="employees")
    assert (employees["value"], employees["n"], employees["audience"]) == (nps_of(2, 3, 5), 10, "employees")
    assert (employees["promoters"], employees["passives"], employees["detractors"]) == (2, 3, 5)
    by_survey = await read("nps", audience="employees", survey_id="srv_pulse")
    assert by_survey["value"] == nps_of(2, 3, 5)


async def test_a_small_employee_group_shows_no_counts_but_a_small_customer_group_does(
    ingest: Ingest, read: Read
) -> None:
    await _org_with_employees(ingest)
    await ingest(scored([9, 3], survey_id="srv_customers", unit="emea/paris"))
    await ingest(scored([9, 9, 8, 6, 2, 10], survey_id="srv_pulse", unit="emea/rome", audience="employees"))
    answer = await read("nps", audience="employees", unit="emea", group_by="unit")
    employees = {g["key"]: g for g in answer["groups"]}
    assert employees["emea/paris"] | NULL_COUNTS == employees["emea/paris"]  # two answers: nothing of them shows
    assert employees["emea/paris"]["reason"] == "below_min_sample"
    # the total (16) minus the stores shown must not give Paris back: the smallest one shown is hidden too
    assert answer["n"] == 16
    assert employees["emea/rome"] | NULL_COUNTS == employees["emea/rome"]
    assert employees["emea/rome"]["reason"] == "protects_small_group"
    assert (employees["emea/berlin"]["n"], employees["emea/berlin"]["value"]) == (8, nps_of(2, 3, 3))
    customers = {g["key"]: g for g in (await read("nps", unit="emea", group_by="unit"))["groups"]}
    assert customers["emea/paris"]["value"] is None
    assert (customers["emea/paris"]["n"], customers["emea/paris"]["promoters"]) == (2, 1)


async def test_small_employee_trend_buckets_and_totals_hide_their_counts(ingest: Ingest, read: Read) -> None:
    await ingest(scored([10, 2, 7], survey_id="srv_pulse", audience="employees", submitted_at=days_ago(2)))
    answer = await read("nps", audience="employees", interval="day", from_=days_ago(3).date().isoformat())
    assert answer | NULL_COUNTS == answer
    assert answer["reason"] == "below_min_sample"
    assert all(bucket["n"] is None and bucket["promoters"] is None for bucket in answer["groups"])


async def test_one_small_employee_bucket_cannot_be_read_from_the_total(ingest: Ingest, read: Read) -> None:
    await ingest(scored([10, 9, 8, 7, 6, 5], survey_id="srv_pulse", audience="employees", submitted_at=days_ago(2)))
    await ingest(scored([0, 0], survey_id="srv_pulse", audience="employees", submitted_at=days_ago(1)))
    answer = await read("nps", audience="employees", interval="day", from_=days_ago(2).date().isoformat())
    assert (answer["n"], answer["detractors"]) == (8, 4)
    buckets = {b["key"]: b for b in answer["groups"]}
    assert buckets[days_ago(1).date().isoformat()]["reason"] == "below_min_sample"
    assert buckets[days_ago(2).date().isoformat()] | NULL_COUNTS == buckets[days_ago(2).date().isoformat()]
    assert buckets[days_ago(2).date().isoformat()]["reason"] == "protects_small_group"
    csat = await read("csat", audience="employees")
    assert (csat["n"], csat["histogram"], csat["satisfied"], csat["top_box"]) == (None, None, None, None)


async def test_employee_answers_are_stored_without_their_contact(ingest: Ingest, metrics_app: FastAPI) -> None:
    await ingest(scored([9], survey_id="srv_pulse", audience="employees", contact_id="cnt_secret"))
    await ingest(scored([9], survey_id="srv_customers", contact_id="cnt_customer"))
    async with metrics_app.state.db.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT audience, contact_id FROM score_facts"))).all()
    assert sorted(rows) == [("customers", "cnt_customer"), ("employees", None)]


async def test_naming_an_employee_survey_without_the_audience_is_refused(
    ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await _org_with_employees(ingest)
    headers = auth(scopes="metrics:read")
    response = await metrics_client.get("/v1/metrics/nps", params={"survey_id": "srv_pulse"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "audience"
    assert "audience=employees" in response.json()["errors"][0]["message"]


async def _scorecard(client: httpx.AsyncClient, auth: TokenFactory, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/scorecards", params=params, headers=auth(scopes="metrics:read"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_scorecards_of_each_audience(
    ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await _org_with_employees(ingest)
    customers = await _scorecard(metrics_client, auth)
    assert (customers["audience"], customers["responses"], customers["nps"]["value"]) == ("customers", 10, 40.0)
    employees = await _scorecard(metrics_client, auth, audience="employees")
    assert (employees["responses"], employees["nps"]["value"], employees["nps"]["n"]) == (10, -30.0, 10)
    assert employees["cases"] is None and employees["degraded"] == []  # employee answers open no cases


async def test_a_small_employee_scorecard_shows_no_counts(
    ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await ingest(scored([10, 0], survey_id="srv_pulse", audience="employees"))
    card = await _scorecard(metrics_client, auth, audience="employees")
    assert (card["responses"], card["nps"]["value"], card["nps"]["n"], card["top_reasons"]) == (None, None, None, [])
    assert all(point["n"] is None for point in card["trend"])


async def test_follow_up_answers_count_only_when_their_survey_is_named(ingest: Ingest, read: Read) -> None:
    await ingest(scored(nps_scores(6, 2, 2), survey_id="srv_customers"))
    await ingest(scored(nps_scores(0, 1, 4), survey_id="srv_followup", purpose="followup"))
    org = await read("nps")
    assert (org["value"], org["n"]) == (nps_of(6, 2, 2), 10)
    surveys = {g["key"] for g in (await read("nps", group_by="survey"))["groups"]}
    assert surveys == {"srv_customers"}
    followup = await read("nps", survey_id="srv_followup")
    assert (followup["value"], followup["n"]) == (nps_of(0, 1, 4), 5)
    by_channel = await read("nps", channel="email")  # answered from the facts, not the rollups: the same rule
    assert by_channel["n"] == 10


async def test_response_rates_of_each_audience(ingest: Ingest, read: Read) -> None:
    await ingest(scored([9], survey_id="srv_pulse", audience="employees"))
    when = days_ago(1)
    invitations = [invitation_event(f"inv_c{i}", "delivered", when, survey_id="srv_customers") for i in range(6)]
    invitations += [invitation_event(f"inv_e{i}", "delivered", when, survey_id="srv_pulse") for i in range(5)]
    invitations += [invitation_event("inv_e0", "completed", when, survey_id="srv_pulse")]
    await ingest(invitations)
    customers = await read("response_rate")
    assert (customers["delivered"], customers["completed"]) == (6, 0)
    employees = await read("response_rate", audience="employees")
    assert (employees["delivered"], employees["completed"], employees["value"]) == (5, 1, 20.0)


async def test_previous_period_values_of_employee_groups_are_protected_too(ingest: Ingest, read: Read) -> None:
    pulse = {"survey_id": "srv_pulse", "audience": "employees"}
    await ingest(scored([10, 9, 9, 8, 7, 6], unit="emea/berlin", submitted_at=days_ago(40), **pulse))
    await ingest(scored([0, 1], unit="emea/paris", submitted_at=days_ago(40), **pulse))
    await ingest(scored([10, 9, 9, 8, 7, 6], unit="emea/berlin", submitted_at=days_ago(5), **pulse))
    await ingest(scored([10, 9, 9, 8, 7], unit="emea/paris", submitted_at=days_ago(5), **pulse))
    answer = await read("nps", audience="employees", unit="emea", group_by="unit", compare="previous")
    assert answer["previous"]["n"] == 8
    groups = {g["key"]: g for g in answer["groups"]}
    assert groups["emea/paris"]["previous"] == {"value": None, "n": None}
    assert groups["emea/berlin"]["previous"] == {"value": None, "n": None}  # 8 - 6 would give Paris's 2 back
    assert (groups["emea/berlin"]["change"], groups["emea/berlin"]["significant"]) == (None, False)
    assert groups["emea/berlin"]["n"] == 6
