"""The scheduler's timed transitions, in process, with the service clock moved by the test.

Each test has a database of its own and drives the real API; the scheduler's tasks run through
``run_once`` (what the loop runs on every period) at the moved clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from fastapi import FastAPI

from tests.flows.apps import sessionmaker_of, settings_of
from tests.flows.deals import (
    approve_milestones,
    award_and_fund,
    job_events,
    job_status,
    lead_status,
    submit_milestones,
)
from tests.flows.users import Api, User, marketplace, new_area, postcode_in
from tradematch.kit import clock
from tradematch.worker.scheduler import run_once

NO_LONGER_AVAILABLE = "This job is no longer available"


def types(events: list[dict[str, object]]) -> list[object]:
    return [e["type"] for e in events]


async def _leads_by_vendor(api: Api, vendors: list[User], job_id: str) -> dict[str, str]:
    found = {}
    for vendor in vendors:
        mine = [lead for lead in await api.leads(vendor) if lead["job_id"] == job_id]
        if mine:
            found[vendor.user_id] = mine[0]["lead_id"]
    return found


async def test_expired_leads_pass_to_the_next_vendors(fresh_app: FastAPI, fresh_api: Api) -> None:
    api = fresh_api
    sessionmaker, settings = sessionmaker_of(fresh_app), settings_of(fresh_app)
    area = new_area()
    customer = await api.customer(postcode=postcode_in(area, "2BB"))
    vendors = [await api.vendor(postcode=postcode_in(area, f"{i}CC"), radius=3) for i in range(7)]
    job_id = (await api.create_job(customer))["job_id"]
    assert (await api.publish(customer, job_id))["leads_assigned"] == 5
    first = await _leads_by_vendor(api, vendors, job_id)
    waiting = [v for v in vendors if v.user_id not in first]
    engaged, *silent = [v for v in vendors if v.user_id in first]
    await api.accept(engaged, first[engaged.user_id])

    clock.advance(timedelta(hours=settings.lead_ttl_hours) - timedelta(minutes=1))
    assert await run_once(sessionmaker, settings) == Counter()

    clock.advance(timedelta(minutes=2))
    done = await run_once(sessionmaker, settings)
    # The job is past its own 72 hours too, but a vendor accepted: it stays live, is topped up.
    assert done == Counter(lead_expired=4, lead_offered=2)
    assert await job_status(api, customer, job_id) == "live"
    assert await lead_status(api, engaged, first[engaged.user_id]) == "accepted"
    for vendor in silent:
        assert await lead_status(api, vendor, first[vendor.user_id]) == "expired"
        seen = await job_events(api, vendor, job_id)
        assert types(seen) == ["LEAD_OFFERED", "LEAD_EXPIRED"]
        assert seen[-1]["actor_role"] == "system"
        assert seen[-1]["payload"]["lead_id"] == first[vendor.user_id]
    second = await _leads_by_vendor(api, waiting, job_id)
    assert set(second) == {v.user_id for v in waiting}
    for vendor in waiting:
        lead = await api.lead_for(vendor, job_id)
        assert lead["status"] == "offered"
        offered = await job_events(api, vendor, job_id)
        # Offered by the platform: nothing says a competitor let the lead lapse.
        assert [(e["type"], e["actor_role"]) for e in offered] == [("LEAD_OFFERED", "system")]

    # Exactly once: the same run again finds nothing to do.
    assert await run_once(sessionmaker, settings) == Counter()

    # The replacements expire in their turn; there is nobody left to offer the job to.
    clock.advance(timedelta(hours=settings.lead_ttl_hours, minutes=1))
    assert await run_once(sessionmaker, settings) == Counter(lead_expired=2)
    assert await job_status(api, customer, job_id) == "live"


async def test_job_expiry_closes_its_open_leads(fresh_app: FastAPI, fresh_api: Api) -> None:
    api = fresh_api
    sessionmaker, settings = sessionmaker_of(fresh_app), settings_of(fresh_app)
    market = await marketplace(api, vendors=3)
    decliner, *offered = market.vendors
    declined = await api.client.post(
        f"/api/connection/leads/{market.leads[decliner.user_id]}/decline",
        json={},
        headers=decliner.headers,
    )
    assert declined.status_code == 200, declined.text
    # A second job on which a vendor accepted: it does not expire.
    engaged_market = await marketplace(api, vendors=1)
    engaged = engaged_market.vendors[0]
    await api.accept(engaged, engaged_market.leads[engaged.user_id])

    clock.advance(timedelta(hours=settings.job_ttl_hours) - timedelta(minutes=1))
    assert await run_once(sessionmaker, settings) == Counter()

    clock.advance(timedelta(minutes=2))
    done = await run_once(sessionmaker, settings)
    assert done == Counter(job_expired=1, lead_closed=2)
    assert await job_status(api, market.customer, market.job_id) == "expired"
    customer_view = await job_events(api, market.customer, market.job_id)
    assert customer_view[-1]["type"] == "JOB_EXPIRED"
    assert customer_view[-1]["actor_role"] == "system"
    for vendor in offered:
        assert await lead_status(api, vendor, market.leads[vendor.user_id]) == "closed"
        seen = await job_events(api, vendor, market.job_id)
        assert types(seen) == ["LEAD_OFFERED", "LEAD_CLOSED"]
        assert seen[-1]["payload"]["message"] == NO_LONGER_AVAILABLE
    # The vendor who declined hears nothing more about the job.
    assert types(await job_events(api, decliner, market.job_id)) == [
        "LEAD_OFFERED",
        "LEAD_DECLINED",
    ]
    assert await job_status(api, engaged_market.customer, engaged_market.job_id) == "live"
    assert await lead_status(api, engaged, engaged_market.leads[engaged.user_id]) == "accepted"

    assert await run_once(sessionmaker, settings) == Counter()


async def test_lead_top_up_reaches_vendors_who_joined_later(
    fresh_app: FastAPI, fresh_api: Api
) -> None:
    api = fresh_api
    sessionmaker, settings = sessionmaker_of(fresh_app), settings_of(fresh_app)
    market = await marketplace(api, vendors=2)
    decliner = market.vendors[0]
    declined = await api.client.post(
        f"/api/connection/leads/{market.leads[decliner.user_id]}/decline",
        json={},
        headers=decliner.headers,
    )
    assert declined.status_code == 200, declined.text
    area = market.customer.postcode.split()[0]
    newcomers = [await api.vendor(postcode=postcode_in(area, f"{i}DD"), radius=3) for i in range(5)]

    done = await run_once(sessionmaker, settings, only=["lead_top_up"])
    assert done == Counter(lead_offered=4)  # one open lead + four new = five
    got = await _leads_by_vendor(api, newcomers, market.job_id)
    assert len(got) == 4
    # The vendor who declined is never offered the job again.
    assert [lead["status"] for lead in await api.leads(decliner)] == ["declined"]
    assert await run_once(sessionmaker, settings, only=["lead_top_up"]) == Counter()


async def test_unanswered_milestone_is_approved_then_the_job_closes(
    fresh_app: FastAPI, fresh_api: Api
) -> None:
    api = fresh_api
    sessionmaker, settings = sessionmaker_of(fresh_app), settings_of(fresh_app)
    market = await marketplace(api, vendors=1)
    vendor = await award_and_fund(api, market)
    await submit_milestones(api, market, vendor)

    clock.advance(timedelta(days=settings.milestone_auto_approve_days) - timedelta(minutes=1))
    assert await run_once(sessionmaker, settings) == Counter()
    clock.advance(timedelta(minutes=2))
    assert await run_once(sessionmaker, settings) == Counter(milestone_auto_approved=1)
    assert await job_status(api, market.customer, market.job_id) == "completed"

    clock.advance(timedelta(days=settings.job_auto_close_days) - timedelta(minutes=1))
    assert await run_once(sessionmaker, settings) == Counter()
    clock.advance(timedelta(minutes=2))
    assert await run_once(sessionmaker, settings) == Counter(job_closed=1)
    assert await job_status(api, market.customer, market.job_id) == "closed"
    for party in (market.customer, vendor):
        closed = (await job_events(api, party, market.job_id))[-1]
        assert (closed["type"], closed["actor_role"]) == ("JOB_CLOSED", "system")
    assert await run_once(sessionmaker, settings) == Counter()


async def test_completed_job_closes_after_the_grace_period(
    fresh_app: FastAPI, fresh_api: Api
) -> None:
    api = fresh_api
    sessionmaker, settings = sessionmaker_of(fresh_app), settings_of(fresh_app)
    market = await marketplace(api, vendors=1)
    vendor = await award_and_fund(api, market)
    await approve_milestones(api, market, await submit_milestones(api, market, vendor))
    assert await job_status(api, market.customer, market.job_id) == "completed"

    clock.advance(timedelta(days=settings.job_auto_close_days, minutes=1))
    assert await run_once(sessionmaker, settings, only=["auto_close"]) == Counter(job_closed=1)
    assert await job_status(api, market.customer, market.job_id) == "closed"
    assert await run_once(sessionmaker, settings) == Counter()
