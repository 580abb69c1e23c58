"""The 14-day auto-approval (``milestones.service.auto_approve_due``) on a test clock."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from tests.flows.database import Database
from tests.flows.deals import API, funded_deal, ok
from tests.flows.users import Api, create_admin
from tradematch.core.config import Settings
from tradematch.events.unit_of_work import unit_of_work
from tradematch.kit import clock
from tradematch.milestones.service import auto_approve_due


async def _run_auto_approval(app: FastAPI, settings: Settings) -> int:
    """One scheduler pass, committed the way the worker commits (events written last)."""
    async with unit_of_work(app.state.sessionmaker) as session:
        approved = await auto_approve_due(session, settings)
    return approved


async def test_an_unanswered_milestone_is_approved_and_paid_after_14_days(
    fresh_api: Api, fresh_app: FastAPI, fresh_db: Database, settings: Settings
) -> None:
    deal = await funded_deal(fresh_api, plan=(3000, 9000))
    ok(await deal.submit(0))
    clock.advance(timedelta(days=settings.milestone_auto_approve_days) - timedelta(minutes=1))
    assert await _run_auto_approval(fresh_app, settings) == 0
    clock.advance(timedelta(minutes=2))
    assert await _run_auto_approval(fresh_app, settings) == 1
    assert await _run_auto_approval(fresh_app, settings) == 0  # once only

    escrow = await deal.escrow()
    assert (escrow["status"], escrow["released"], escrow["balance"]) == ("partial_released", 30, 90)
    assert [m["status"] for m in await deal.milestones()] == ["released", "pending"]
    wallet = ok(await deal.api.client.get(f"{API}/wallet", headers=deal.vendor.headers))
    assert wallet["balance"] == 30
    conn = await fresh_db.connect()
    try:
        event = await conn.fetchrow(
            "SELECT actor_role, payload->>'automatic' AS automatic FROM event_log"
            " WHERE job_id = $1 AND type = 'MILESTONE_APPROVED'",
            deal.job_id,
        )
    finally:
        await conn.close()
    assert (event["actor_role"], event["automatic"]) == ("system", "true")


async def test_a_disputed_escrow_is_not_paid_out_automatically(
    fresh_api: Api, fresh_app: FastAPI, settings: Settings
) -> None:
    deal = await funded_deal(fresh_api, plan=(12000,))
    ok(await deal.submit(0))
    ok(await deal.dispute(), 201)
    clock.advance(timedelta(days=settings.milestone_auto_approve_days + 1))
    assert await _run_auto_approval(fresh_app, settings) == 0
    assert (await deal.escrow())["status"] == "disputed"


async def test_milestones_left_behind_by_a_settled_dispute_do_not_starve_the_others(
    fresh_api: Api, fresh_app: FastAPI, fresh_db: Database, settings: Settings
) -> None:
    """A dispute settled by refund leaves its submitted milestones as they were, on an escrow
    that can never pay them. They are the oldest submitted milestones, so a pass that picks the
    oldest batch and skips them would never reach anyone else's."""
    admin = await create_admin(fresh_api, fresh_db.async_url)
    for _ in range(2):  # two batches' worth (20) of milestones that can never be paid
        settled = await funded_deal(fresh_api, plan=(1000,) * 10)
        for index in range(10):
            ok(await settled.submit(index))
        dispute = ok(await settled.dispute(), 201)
        ok(await settled.resolve(admin, dispute["dispute_id"], "refund_customer"))
    waiting = await funded_deal(fresh_api, plan=(5000,))
    clock.advance(timedelta(minutes=1))
    ok(await waiting.submit(0))

    clock.advance(timedelta(days=settings.milestone_auto_approve_days + 1))
    assert await _run_auto_approval(fresh_app, settings) == 1
    assert (await waiting.escrow())["status"] == "released"
    assert (await waiting.job())["status"] == "completed"


async def test_time_spent_in_dispute_does_not_count_towards_auto_approval(
    fresh_api: Api, fresh_app: FastAPI, fresh_db: Database, settings: Settings
) -> None:
    """Submitted, then disputed for longer than the window: resuming the job does not pay the
    milestone seconds later. The customer's window starts again at the resumption."""
    admin = await create_admin(fresh_api, fresh_db.async_url)
    window = timedelta(days=settings.milestone_auto_approve_days)
    deal = await funded_deal(fresh_api, plan=(12000,))
    ok(await deal.submit(0))
    clock.advance(timedelta(days=1))
    raised = ok(await deal.dispute(), 201)
    clock.advance(timedelta(days=15))
    ok(await deal.resolve(admin, raised["dispute_id"], "resume"))
    clock.advance(timedelta(seconds=5))
    assert await _run_auto_approval(fresh_app, settings) == 0
    assert [m["status"] for m in await deal.milestones()] == ["submitted"]

    clock.advance(window - timedelta(minutes=1))
    assert await _run_auto_approval(fresh_app, settings) == 0
    clock.advance(timedelta(minutes=2))
    assert await _run_auto_approval(fresh_app, settings) == 1
    assert [m["status"] for m in await deal.milestones()] == ["released"]


async def test_every_resumed_dispute_restarts_the_window(
    fresh_api: Api, fresh_app: FastAPI, fresh_db: Database, settings: Settings
) -> None:
    """Two disputes in a row, each resumed just before the window would have ended counting the
    frozen days; milestones of other jobs keep their own windows."""
    admin = await create_admin(fresh_api, fresh_db.async_url)
    days = settings.milestone_auto_approve_days
    deal = await funded_deal(fresh_api, plan=(3000, 9000))
    other = await funded_deal(fresh_api, plan=(5000,))
    ok(await deal.submit(0))
    ok(await other.submit(0))
    for approved_elsewhere in (1, 0):
        clock.advance(timedelta(days=days - 2))
        raised = ok(await deal.dispute(), 201)
        clock.advance(timedelta(days=3))
        ok(await deal.resolve(admin, raised["dispute_id"], "resume"))
        assert await _run_auto_approval(fresh_app, settings) == approved_elsewhere
    # The other job's milestone was approved on its own schedule (the first pass above).
    assert [m["status"] for m in await other.milestones()] == ["released"]
    assert [m["status"] for m in await deal.milestones()] == ["submitted", "pending"]
    clock.advance(timedelta(days=days, minutes=1))
    assert await _run_auto_approval(fresh_app, settings) == 1
    assert [m["status"] for m in await deal.milestones()] == ["released", "pending"]
