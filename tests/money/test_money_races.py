"""Money under real concurrency (a ``tradematch serve`` process, requests truly overlapping in
PostgreSQL): double payments, double releases and a release racing a dispute each happen once
or not at all. The ledger audit runs after the test, as after every test here."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.flows.database import Database
from tests.flows.deals import API, Deal, funded_deal, ok, pounds, quoted_deal
from tests.flows.servers import LiveServer
from tests.flows.users import Api

CLICKS = 20


@pytest_asyncio.fixture
async def live_api(live_server: LiveServer) -> AsyncIterator[Api]:
    limits = httpx.Limits(max_connections=CLICKS * 2, max_keepalive_connections=CLICKS * 2)
    async with httpx.AsyncClient(
        base_url=live_server.base_url, timeout=60, limits=limits
    ) as client:
        yield Api(client)


def _tally(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter(
        (r.status_code, "" if r.status_code < 300 else r.json()["code"]) for r in responses
    )


async def _count(db: Database, sql: str, *args: object) -> int:
    conn = await db.connect()
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def test_top_ups_funding_and_releases_happen_once_under_concurrency(
    live_api: Api, fresh_db: Database
) -> None:
    api = live_api
    deal = await quoted_deal(api, vendors=1, plans=[(3000, 9000)])
    await deal.award(deal.vendors[0])
    wallet = f"{API}/wallet"

    # Twenty top-ups of £6.01 at once: every one lands, none is lost.
    top_ups = await asyncio.gather(*(deal.top_up(601) for _ in range(CLICKS)))
    assert len({t["transaction_id"] for t in top_ups}) == CLICKS
    balance = ok(await api.client.get(wallet, headers=deal.customer.headers))["balance"]
    assert balance == pounds(601 * CLICKS)

    # Twenty "fund" clicks without keys: one payment, nineteen 409s.
    funds = await asyncio.gather(*(deal.fund() for _ in range(CLICKS)))
    assert _tally(funds) == {(200, ""): 1, (409, "INVALID_STATE_TRANSITION"): CLICKS - 1}
    balance = ok(await api.client.get(wallet, headers=deal.customer.headers))["balance"]
    assert balance == pounds(601 * CLICKS - 12000)
    assert (
        await _count(
            fresh_db,
            "SELECT count(*) FROM ledger_transactions WHERE kind = 'escrow_fund' AND job_id = $1",
            deal.job_id,
        )
        == 1
    )

    # Twenty approvals of one submitted milestone: one release.
    ok(await deal.submit(0))
    approvals = await asyncio.gather(*(deal.approve(0) for _ in range(CLICKS)))
    assert _tally(approvals) == {(200, ""): 1, (409, "INVALID_STATE_TRANSITION"): CLICKS - 1}
    escrow = await deal.escrow()
    assert (escrow["status"], escrow["released"]) == ("partial_released", 30)

    # The last release racing a dispute: exactly one of them wins, whichever it is.
    ok(await deal.submit(1))
    approve, dispute = await asyncio.gather(deal.approve(1), deal.dispute(deal.vendor))
    assert sorted([approve.status_code, dispute.status_code]) in ([200, 409], [201, 409])
    job, escrow = (await deal.job())["status"], await deal.escrow()
    if approve.status_code == 200:  # the job completed first: no dispute on a finished job
        assert dispute.json()["current_state"] == "completed"
        assert (job, escrow["status"], escrow["released"]) == ("completed", "released", 120)
    else:  # the dispute froze the escrow first: no release from a frozen escrow
        assert approve.json()["current_state"] == "disputed"
        assert (job, escrow["status"], escrow["released"]) == ("disputed", "disputed", 30)


async def test_approvals_on_two_jobs_at_once_pay_each_vendor_once(
    live_api: Api, fresh_db: Database
) -> None:
    deals: list[Deal] = [await funded_deal(live_api, plan=(5000,)) for _ in range(2)]
    for deal in deals:
        ok(await deal.submit(0))
    results = await asyncio.gather(*(deal.approve(0) for deal in deals for _ in range(5)))
    assert _tally(results) == {(200, ""): 2, (409, "INVALID_STATE_TRANSITION"): 8}
    for deal in deals:
        escrow = await deal.escrow()
        assert (escrow["status"], escrow["released"], escrow["balance"]) == ("released", 50, 0)
        paid = ok(await live_api.client.get(f"{API}/wallet", headers=deal.vendor.headers))
        assert paid["balance"] == 50
