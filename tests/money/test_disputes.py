"""Disputes freeze the money; each resolution settles it in one balanced step."""

from __future__ import annotations

import pytest

from tests.flows.database import Database, unchanged
from tests.flows.deals import API, assert_invalid_transition, awarded_deal, funded_deal, ok, pounds
from tests.flows.users import Api, create_admin

PLAN = (2500, 10000)  # £25 released before the dispute, £100 frozen by it


async def _event_types(db: Database, job_id: str) -> list[str]:
    conn = await db.connect()
    try:
        rows = await conn.fetch("SELECT type FROM event_log WHERE job_id = $1 ORDER BY seq", job_id)
    finally:
        await conn.close()
    return [r["type"] for r in rows]


@pytest.mark.parametrize(
    ("resolution", "share", "job_status", "escrow_status", "to_vendor", "to_customer"),
    [
        ("release_to_vendor", None, "completed", "released", 10000, 0),
        # The vendor was paid £25 before the dispute: the escrow was not simply refunded.
        ("refund_customer", None, "cancelled", "settled", 0, 10000),
        ("split", 3333, "completed", "settled", 3333, 6667),
        ("split", 10000, "completed", "released", 10000, 0),
        ("resume", None, "in_progress", "partial_released", 0, 0),
    ],
)
async def test_each_resolution_settles_the_frozen_escrow(
    api: Api,
    worker_db: Database,
    resolution: str,
    share: int | None,
    job_status: str,
    escrow_status: str,
    to_vendor: int,
    to_customer: int,
) -> None:
    admin = await create_admin(api, worker_db.async_url)
    deal = await funded_deal(api, plan=PLAN)
    ok(await deal.submit(0))
    ok(await deal.approve(0))
    raised = ok(await deal.dispute(deal.vendor), 201)
    assert (await deal.escrow())["status"] == "disputed"
    assert (await deal.job())["status"] == "disputed"

    resolved = ok(await deal.resolve(admin, raised["dispute_id"], resolution, share))
    assert resolved["job_status"] == job_status and resolved["escrow_status"] == escrow_status
    # The milestone the dispute froze ends with the job: settled by the ruling, or cancelled.
    unpaid = {"completed": "settled", "cancelled": "cancelled"}.get(job_status, "pending")
    assert [m["status"] for m in await deal.milestones()] == ["released", unpaid]

    escrow = await deal.escrow()
    assert escrow["status"] == escrow_status
    assert escrow["released"] == pounds(2500 + to_vendor)
    assert escrow["refunded"] == pounds(to_customer)
    assert escrow["balance"] == pounds(10000 - to_vendor - to_customer)
    vendor_wallet = ok(await api.client.get(f"{API}/wallet", headers=deal.vendor.headers))
    customer_wallet = ok(await api.client.get(f"{API}/wallet", headers=deal.customer.headers))
    assert vendor_wallet["balance"] == pounds(2500 + to_vendor)
    assert customer_wallet["balance"] == pounds(to_customer)

    disputes = ok(await api.client.get("/api/admin/disputes", headers=admin.headers))
    mine = next(d for d in disputes["items"] if d["dispute_id"] == raised["dispute_id"])
    assert mine["status"] == "resolved" and mine["resolution"] == resolution
    assert mine["vendor_share"] == (pounds(share) if share is not None else None)

    events = await _event_types(worker_db, deal.job_id)
    tail = events[events.index("DISPUTE_RAISED") :]
    expected = ["DISPUTE_RAISED"]
    if to_vendor:
        expected.append("PAYMENT_RELEASED")
    if to_customer:  # every movement of money is an event of its own
        expected.append("PAYMENT_REFUNDED")
    expected.append("DISPUTE_RESOLVED")
    expected += {"completed": ["JOB_COMPLETED"], "cancelled": ["JOB_CANCELLED"]}.get(job_status, [])
    assert tail == expected

    if resolution == "resume":  # the job runs on: the frozen milestone can be finished and paid
        ok(await deal.submit(1))
        ok(await deal.approve(1))
        assert (await deal.escrow())["status"] == "released"
        assert (await deal.job())["status"] == "completed"


async def test_a_second_resolution_is_refused(api: Api, worker_db: Database) -> None:
    admin = await create_admin(api, worker_db.async_url)
    deal = await funded_deal(api, plan=PLAN)
    raised = ok(await deal.dispute(), 201)
    ok(await deal.resolve(admin, raised["dispute_id"], "refund_customer"))
    async with unchanged(worker_db):
        again = await deal.resolve(admin, raised["dispute_id"], "release_to_vendor")
    assert_invalid_transition(again, "resolved", "dispute")


async def test_a_split_larger_than_the_escrow_is_a_422_and_changes_nothing(
    api: Api, worker_db: Database
) -> None:
    admin = await create_admin(api, worker_db.async_url)
    deal = await funded_deal(api, plan=PLAN)
    ok(await deal.submit(0))
    ok(await deal.approve(0))
    raised = ok(await deal.dispute(), 201)
    async with unchanged(worker_db):
        too_much = await deal.resolve(admin, raised["dispute_id"], "split", 10001)
    assert too_much.status_code == 422, too_much.text
    assert too_much.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("resolution", ["refund_customer", "resume"])
async def test_an_unfunded_disputed_job_takes_no_money(
    api: Api, worker_db: Database, resolution: str
) -> None:
    """Disputed before funding: funding is refused while the dispute stands and after a
    settlement, so no money is ever paid into the escrow of a job nobody will finish."""
    admin = await create_admin(api, worker_db.async_url)
    deal = await awarded_deal(api, vendors=1, plan=(12000,))
    await deal.top_up(12000)
    raised = ok(await deal.dispute(), 201)
    assert (await deal.escrow())["status"] == "pending"

    async with unchanged(worker_db):
        refused = await deal.fund()
    assert_invalid_transition(refused, "disputed", "job")

    resolved = ok(await deal.resolve(admin, raised["dispute_id"], resolution))
    if resolution == "resume":
        assert resolved["escrow_status"] == "pending"
        funded = ok(await deal.fund())  # the job runs again: now it may be funded
        assert funded["status"] == "held"
        return
    # The job is cancelled, and so are the escrow that never held money and its milestones.
    assert (resolved["job_status"], resolved["escrow_status"]) == ("cancelled", "cancelled")
    assert (await deal.escrow())["status"] == "cancelled"
    assert [m["status"] for m in await deal.milestones()] == ["cancelled"]
    async with unchanged(worker_db):
        refused = await deal.fund()
    assert_invalid_transition(refused, "cancelled", "escrow")
    wallet = ok(await api.client.get(f"{API}/wallet", headers=deal.customer.headers))
    assert wallet["balance"] == 120


@pytest.mark.parametrize(("resolution", "share"), [("release_to_vendor", None), ("split", 1)])
async def test_releasing_an_unfunded_escrow_is_refused(
    api: Api, worker_db: Database, resolution: str, share: int | None
) -> None:
    """Nothing is held, so nothing can be released: the job is not "completed" with £0 paid
    and an escrow pending for ever. The dispute stays open for another ruling."""
    admin = await create_admin(api, worker_db.async_url)
    deal = await awarded_deal(api, vendors=1, plan=(12000,))
    raised = ok(await deal.dispute(), 201)
    async with unchanged(worker_db):
        refused = await deal.resolve(admin, raised["dispute_id"], resolution, share)
    assert_invalid_transition(refused, "pending", "escrow")
    assert (await deal.job())["status"] == "disputed"
    ok(await deal.resolve(admin, raised["dispute_id"], "refund_customer"))


async def test_every_unpaid_milestone_ends_with_the_job(api: Api, worker_db: Database) -> None:
    """Submitted, changes-requested and untouched milestones all end with a release ruling."""
    admin = await create_admin(api, worker_db.async_url)
    deal = await funded_deal(api, plan=(1000, 2000, 3000, 4000))
    ok(await deal.submit(0))
    ok(await deal.approve(0))
    ok(await deal.submit(1))
    ok(await deal.submit(2))
    ok(await deal.request_changes(2))
    raised = ok(await deal.dispute(), 201)
    ok(await deal.resolve(admin, raised["dispute_id"], "release_to_vendor"))
    statuses = [m["status"] for m in await deal.milestones()]
    assert statuses == ["released", "settled", "settled", "settled"]
    assert (await deal.escrow())["status"] == "released"
    # A settled milestone takes no more action.
    refused = await deal.submit(3)
    assert refused.status_code == 409, refused.text
