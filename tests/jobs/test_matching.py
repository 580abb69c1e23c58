"""Matching: which vendors a published job is offered to, in which order, and the top-up.

Every test has a database of its own, so the only vendors are the ones placed here around a job
in Leeds city centre (LS1). Distances are between outcode centroids (the bundled ONS data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.flows.database import Database
from tests.flows.users import Api, User, postcode_in
from tradematch.kit.postcodes import distance_miles

JOB_OUTCODE = "LS1"


@dataclass
class Placed:
    """A vendor of the scenario with where it is based."""

    user: User
    outcode: str

    @property
    def id(self) -> str:
        return self.user.user_id


@dataclass
class Scenario:
    customer: User
    ranked: list[Placed]  # every eligible vendor, best match first
    ineligible: dict[str, Placed]  # why → vendor


async def _vendor(
    api: Api,
    db: Database,
    outcode: str,
    *,
    rating: tuple[int, int] | None = None,
    trades: list[str] | None = None,
    radius: int = 10,
) -> Placed:
    vendor = await api.vendor(
        postcode=postcode_in(outcode, "9ZZ"), trades=trades or ["Plumbing"], radius=radius
    )
    if rating is not None:
        total, count = rating
        conn = await db.connect()
        try:
            await conn.execute(
                "UPDATE vendor_profiles SET rating_total = $1, rating_count = $2"
                " WHERE user_id = $3",
                total,
                count,
                vendor.user_id,
            )
        finally:
            await conn.close()
    return Placed(vendor, outcode)


async def _scenario(api: Api, db: Database) -> Scenario:
    # The distances the ranking relies on (they are facts of the data, checked here once).
    assert distance_miles(JOB_OUTCODE, "LS12") == pytest.approx(2.03, abs=0.01)
    assert distance_miles(JOB_OUTCODE, "LS15") == pytest.approx(4.27, abs=0.01)
    assert distance_miles(JOB_OUTCODE, "LS14") == pytest.approx(4.31, abs=0.01)
    assert distance_miles(JOB_OUTCODE, "BD11") == pytest.approx(6.09, abs=0.01)
    assert distance_miles(JOB_OUTCODE, "S10") == pytest.approx(29.04, abs=0.01)
    assert distance_miles(JOB_OUTCODE, "S11") == pytest.approx(30.12, abs=0.01)

    customer = await api.customer(postcode=postcode_in(JOB_OUTCODE, "1AA"))
    # Registered in a scrambled order, so neither ids nor creation time can explain the ranking.
    c_unrated = await _vendor(api, db, "LS15", radius=5)
    a_good = await _vendor(api, db, "LS1", rating=(8, 2))  # 4.0
    e_wide = await _vendor(api, db, "S10", radius=30, rating=(5, 1))  # 29 miles, inside its 30
    b_near = await _vendor(api, db, "LS12", rating=(2, 1))  # 2.0, but nearer than all below
    d_multi = await _vendor(api, db, "BD11", trades=["Electrical", "Plumbing"], rating=(5, 1))
    c_worse = await _vendor(api, db, "LS15", radius=5, rating=(3, 1))  # 3.0
    a_unrated = await _vendor(api, db, "LS1")
    c_best = await _vendor(api, db, "LS15", radius=5, rating=(9, 2))  # 4.5
    a_top = await _vendor(api, db, "LS1", rating=(5, 1))  # 5.0

    wrong_trade = await _vendor(api, db, "LS1", trades=["Electrical", "Tiling"], rating=(5, 1))
    paused = await _vendor(api, db, "LS1", rating=(5, 1))
    response = await api.client.patch(
        "/api/connection/vendors/me", json={"accepting_leads": False}, headers=paused.user.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepting_leads"] is False
    short_radius = await _vendor(api, db, "LS14", radius=4, rating=(5, 1))  # 4.31 miles > 4
    just_outside = await _vendor(api, db, "S11", radius=30, rating=(5, 1))  # 30.12 miles > 30
    deactivated = await _vendor(api, db, "LS1", rating=(5, 1))
    conn = await db.connect()
    try:
        await conn.execute("UPDATE users SET is_active = false WHERE id = $1", deactivated.id)
    finally:
        await conn.close()

    return Scenario(
        customer=customer,
        ranked=[a_top, a_good, a_unrated, b_near, c_best, c_worse, c_unrated, d_multi, e_wide],
        ineligible={
            "wrong trade": wrong_trade,
            "not accepting leads": paused,
            "radius too small": short_radius,
            "just outside radius": just_outside,
            "deactivated": deactivated,
        },
    )


async def _leads(db: Database, job_id: str) -> dict[str, dict[str, object]]:
    """vendor id → its lead row on the job."""
    conn = await db.connect()
    try:
        rows = await conn.fetch(
            "SELECT id, vendor_id, status, distance_miles FROM leads WHERE job_id = $1", job_id
        )
    finally:
        await conn.close()
    return {row["vendor_id"]: dict(row) for row in rows}


async def _offer_events(db: Database, job_id: str) -> list[tuple[str, str]]:
    """(lead id, vendor id) of the job's LEAD_OFFERED events, in log order."""
    conn = await db.connect()
    try:
        rows = await conn.fetch(
            "SELECT payload FROM event_log"
            " WHERE job_id = $1 AND type = 'LEAD_OFFERED' ORDER BY seq",
            job_id,
        )
    finally:
        await conn.close()
    payloads = [json.loads(row["payload"]) for row in rows]
    return [(p["lead_id"], p["vendor_id"]) for p in payloads]


async def _open_leads(api: Api, customer: User, job_id: str) -> int:
    response = await api.client.get(f"/api/connection/jobs/{job_id}", headers=customer.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["leads_assigned"])


async def test_publish_offers_the_five_best_matches(fresh_api: Api, fresh_db: Database) -> None:
    api, scenario = fresh_api, await _scenario(fresh_api, fresh_db)
    job = await api.create_job(scenario.customer)

    published = await api.publish(scenario.customer, job["job_id"])

    assert published["status"] == "live"
    assert published["leads_assigned"] == 5
    assert published["message"] == "Job published. 5 vendors notified."
    assert published["event_id"].startswith("evt_")

    best_five = scenario.ranked[:5]
    leads = await _leads(fresh_db, job["job_id"])
    assert set(leads) == {v.id for v in best_five}
    for vendor in best_five:
        lead = leads[vendor.id]
        assert lead["status"] == "offered"
        assert lead["distance_miles"] == pytest.approx(
            distance_miles(JOB_OUTCODE, vendor.outcode), abs=0.01
        )

    # Offered nearest first, equal distances by rating (unrated last): the log keeps that order.
    offers = await _offer_events(fresh_db, job["job_id"])
    assert [vendor_id for _lead, vendor_id in offers] == [v.id for v in best_five]
    assert {lead_id for lead_id, _vendor in offers} == {lead["id"] for lead in leads.values()}
    assert len(offers) == len(leads) == 5

    # Each offered vendor sees exactly its one lead; nobody else sees anything.
    for vendor in best_five:
        mine = await api.leads(vendor.user)
        assert [(lead["job_id"], lead["status"]) for lead in mine] == [(job["job_id"], "offered")]
        assert mine[0]["outcode"] == JOB_OUTCODE
    for vendor in [*scenario.ranked[5:], *scenario.ineligible.values()]:
        if vendor is scenario.ineligible["deactivated"]:
            continue  # its token no longer works; the lead table above already excludes it
        assert await api.leads(vendor.user) == [], vendor
    assert await _open_leads(api, scenario.customer, job["job_id"]) == 5


async def test_publish_with_fewer_matches_says_so(fresh_api: Api, fresh_db: Database) -> None:
    api = fresh_api
    customer = await api.customer(postcode=postcode_in(JOB_OUTCODE, "1AA"))
    only = await _vendor(api, fresh_db, "LS12")
    await _vendor(api, fresh_db, "LS1", trades=["Roofing"])
    job = await api.create_job(customer)

    published = await api.publish(customer, job["job_id"])

    assert published["leads_assigned"] == 1
    assert published["message"] == "Job published. 1 vendor notified."
    assert set(await _leads(fresh_db, job["job_id"])) == {only.id}

    lonely = await api.create_job(customer, trade_category="Locksmith")
    nobody = await api.publish(customer, lonely["job_id"])
    assert nobody["status"] == "live"
    assert nobody["leads_assigned"] == 0
    assert nobody["message"] == "Job published. 0 vendors notified."
    assert await _offer_events(fresh_db, lonely["job_id"]) == []


async def test_declining_offers_the_next_best_vendor(fresh_api: Api, fresh_db: Database) -> None:
    api, scenario = fresh_api, await _scenario(fresh_api, fresh_db)
    job_id = (await api.create_job(scenario.customer))["job_id"]
    await api.publish(scenario.customer, job_id)
    ranked = scenario.ranked

    # Each decline by one of the offered vendors brings in the best vendor not yet offered.
    for declined, newcomer in zip(ranked[:4], ranked[5:], strict=True):
        lead = await api.lead_for(declined.user, job_id)
        response = await api.client.post(
            f"/api/connection/leads/{lead['lead_id']}/decline",
            json={"reason": "Too busy this week"},
            headers=declined.user.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "declined"

        leads = await _leads(fresh_db, job_id)
        assert leads[declined.id]["status"] == "declined"
        assert leads[newcomer.id]["status"] == "offered", newcomer
        open_now = {vid for vid, lead in leads.items() if lead["status"] == "offered"}
        assert len(open_now) == 5
        assert await _open_leads(api, scenario.customer, job_id) == 5
        offers = await _offer_events(fresh_db, job_id)
        assert offers[-1][1] == newcomer.id
        assert len(offers) == len(leads)
        newcomer_leads = await api.leads(newcomer.user)
        assert [(lead["job_id"], lead["status"]) for lead in newcomer_leads] == [
            (job_id, "offered")
        ]

    # Every eligible vendor has now been offered the job; one more decline finds nobody, and a
    # vendor who declined is never offered the same job again.
    last = ranked[4]
    lead = await api.lead_for(last.user, job_id)
    response = await api.client.post(
        f"/api/connection/leads/{lead['lead_id']}/decline", json={}, headers=last.user.headers
    )
    assert response.status_code == 200, response.text
    leads = await _leads(fresh_db, job_id)
    assert set(leads) == {v.id for v in ranked}
    assert sorted(vid for vid, lead in leads.items() if lead["status"] == "declined") == sorted(
        v.id for v in ranked[:5]
    )
    assert await _open_leads(api, scenario.customer, job_id) == 4
    assert len(await _offer_events(fresh_db, job_id)) == 9
    for why, vendor in scenario.ineligible.items():
        assert vendor.id not in leads, why

    # Declining twice is refused (the vendor is out of the job: it hears only that), and it
    # offers nobody.
    again = await api.client.post(
        f"/api/connection/leads/{lead['lead_id']}/decline", json={}, headers=last.user.headers
    )
    assert again.status_code == 409, again.text
    gone = {"error": "This job is no longer available", "code": "NO_LONGER_AVAILABLE"}
    assert again.json() == gone
    assert len(await _offer_events(fresh_db, job_id)) == 9


async def test_accepting_a_lead_does_not_top_up(fresh_api: Api, fresh_db: Database) -> None:
    """An accepted lead is still open: the job keeps five, not six."""
    api, scenario = fresh_api, await _scenario(fresh_api, fresh_db)
    job_id = (await api.create_job(scenario.customer))["job_id"]
    await api.publish(scenario.customer, job_id)
    top = scenario.ranked[0]
    await api.accept(top.user, (await api.lead_for(top.user, job_id))["lead_id"])

    leads = await _leads(fresh_db, job_id)
    assert set(leads) == {v.id for v in scenario.ranked[:5]}
    assert leads[top.id]["status"] == "accepted"
    assert await _open_leads(api, scenario.customer, job_id) == 5


async def test_vendor_who_stops_accepting_is_skipped_by_top_up(
    fresh_api: Api, fresh_db: Database
) -> None:
    """Eligibility is read at offer time: a vendor who paused after publishing is passed over."""
    api, scenario = fresh_api, await _scenario(fresh_api, fresh_db)
    job_id = (await api.create_job(scenario.customer))["job_id"]
    await api.publish(scenario.customer, job_id)
    sixth, seventh = scenario.ranked[5], scenario.ranked[6]
    response = await api.client.patch(
        "/api/connection/vendors/me", json={"accepting_leads": False}, headers=sixth.user.headers
    )
    assert response.status_code == 200, response.text

    first = scenario.ranked[0]
    lead = await api.lead_for(first.user, job_id)
    declined = await api.client.post(
        f"/api/connection/leads/{lead['lead_id']}/decline", json={}, headers=first.user.headers
    )
    assert declined.status_code == 200, declined.text

    leads = await _leads(fresh_db, job_id)
    assert sixth.id not in leads
    assert leads[seventh.id]["status"] == "offered"
