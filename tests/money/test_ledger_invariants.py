"""The ledger checks themselves: they hold after real money flows, and each one fires on the
corruption it exists to catch (so the automatic check after every test is not vacuous)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.flows.database import Database
from tests.flows.deals import Deal, funded_deal, ok, pounds
from tests.flows.ledger import ledger_problems
from tests.flows.users import Api, create_admin
from tradematch.escrow.repository import INVARIANT_QUERIES

Corruption = Callable[[Any, Deal], Awaitable[None]]


async def _escrow_account(conn: Any, deal: Deal) -> int:
    escrow_id = await conn.fetchval("SELECT id FROM escrow_accounts WHERE job_id = $1", deal.job_id)
    return int(
        await conn.fetchval(
            "SELECT id FROM ledger_accounts WHERE kind = 'escrow' AND owner_ref = $1", escrow_id
        )
    )


async def _unbalanced(conn: Any, deal: Deal) -> None:
    wallet = await conn.fetchval(
        "SELECT id FROM ledger_accounts WHERE kind = 'customer_wallet' AND owner_ref = $1",
        deal.customer.user_id,
    )
    # Named after one of the job's events (a transaction must name one): not an event that
    # records it, which the audit reports as well.
    await conn.execute(
        "INSERT INTO ledger_transactions (id, kind, event_id)"
        " SELECT 'txn_forged', 'top_up', id FROM event_log WHERE job_id = $1 LIMIT 1",
        deal.job_id,
    )
    await conn.execute(
        "INSERT INTO ledger_entries (transaction_id, account_id, amount_pence)"
        " VALUES ('txn_forged', $1, 100)",
        wallet,
    )


async def _balance_drift(conn: Any, deal: Deal) -> None:
    await conn.execute(
        "UPDATE ledger_accounts SET balance_pence = balance_pence + 1 WHERE id = $1",
        await _escrow_account(conn, deal),
    )


async def _negative_escrow(conn: Any, deal: Deal) -> None:
    # The CHECK would refuse it; dropped inside the transaction that is rolled back.
    await conn.execute(
        "ALTER TABLE ledger_accounts DROP CONSTRAINT ck_ledger_accounts_balance_nonnegative"
    )
    account = await _escrow_account(conn, deal)
    await conn.execute("UPDATE ledger_accounts SET balance_pence = -1 WHERE id = $1", account)


async def _over_released(conn: Any, deal: Deal) -> None:
    await conn.execute("ALTER TABLE escrow_accounts DROP CONSTRAINT ck_escrow_accounts_amounts")
    await conn.execute(
        "UPDATE escrow_accounts SET released_pence = funded_pence + 1 WHERE job_id = $1",
        deal.job_id,
    )


async def _state_mismatch(conn: Any, deal: Deal) -> None:
    await conn.execute(
        "UPDATE escrow_accounts SET status = 'released' WHERE job_id = $1", deal.job_id
    )


async def _money_stranded(conn: Any, deal: Deal) -> None:
    await conn.execute("UPDATE jobs SET status = 'cancelled' WHERE id = $1", deal.job_id)


async def _left_in_limbo(conn: Any, deal: Deal) -> None:
    """The job ends but its escrow and milestones are left as they were."""
    await conn.execute("UPDATE jobs SET status = 'completed' WHERE id = $1", deal.job_id)


async def _refunded_but_paid(conn: Any, deal: Deal) -> None:
    """The vendor was paid a milestone, the rest refunded: the escrow may not read "refunded"."""
    await conn.execute(
        "UPDATE escrow_accounts SET status = 'refunded',"
        " refunded_pence = funded_pence - released_pence WHERE job_id = $1",
        deal.job_id,
    )


async def _payout_without_its_money(conn: Any, deal: Deal) -> None:
    """A payout row whose ledger transaction is not a payout from that wallet."""
    funding = await conn.fetchval(
        "SELECT id FROM ledger_transactions WHERE job_id = $1 AND kind = 'escrow_fund'",
        deal.job_id,
    )
    await conn.execute(
        "INSERT INTO payouts (id, user_id, wallet_kind, amount_pence, status, provider,"
        " transaction_id, sent_at) VALUES ('pay_corrupt', $1, 'customer_wallet', 100, 'sent',"
        " 'sandbox', $2, now())",
        deal.customer.user_id,
        funding,
    )


# corruption → (problems the independent audit must report, the application's check's names)
CORRUPTIONS: dict[str, tuple[Corruption, set[str], set[str]]] = {
    "unbalanced": (
        _unbalanced,
        {
            "unbalanced transaction",
            "transaction with fewer than two entries",
            "money created or destroyed",
            "transaction differs from its event's record",
        },
        {"unbalanced transaction"},
    ),
    "balance_drift": (
        _balance_drift,
        {
            "stored balance differs from its entries",
            "escrow balance differs from funded - released - refunded",
        },
        {
            "stored balance differs from its entries",
            "escrow balance differs from funded - released - refunded",
        },
    ),
    "negative": (
        _negative_escrow,
        {"negative wallet or escrow balance", "stored balance differs from its entries"},
        {"negative wallet or escrow balance"},
    ),
    "over_released": (
        _over_released,
        {
            "released + refunded exceed funded (or funded exceeds total)",
            "released differs from the ledger",
        },
        {"released + refunded exceed funded"},
    ),
    "state_mismatch": (
        _state_mismatch,
        {"escrow state does not match its balance"},
        {"escrow state does not match its balance"},
    ),
    "money_stranded": (
        _money_stranded,
        {"money left in escrow of a finished job", "funded escrow on a job not in progress"},
        set(),
    ),
    "left_in_limbo": (
        _left_in_limbo,
        {"escrow left open on a finished job", "milestone left open on a finished job"},
        {"finished job with an escrow still open", "finished job with a milestone still open"},
    ),
    "refunded_but_paid": (
        _refunded_but_paid,
        {"escrow state does not match its balance"},
        {"escrow state does not match its balance"},
    ),
    "payout_without_its_money": (
        _payout_without_its_money,
        set(),
        {"payout differs from its ledger transaction"},
    ),
}


async def _application_check(conn: Any) -> set[str]:
    found = set()
    for name, query in INVARIANT_QUERIES.items():
        if await conn.fetch(query):
            found.add(name)
    return found


async def test_each_check_fires_on_its_corruption(fresh_api: Api, fresh_db: Database) -> None:
    deal = await funded_deal(fresh_api, plan=(4000, 8050))
    ok(await deal.submit(0))
    ok(await deal.approve(0))
    conn = await fresh_db.connect()
    try:
        assert await ledger_problems(conn) == {}
        assert await _application_check(conn) == set()
        for name, (corrupt, audit_names, app_names) in CORRUPTIONS.items():
            transaction = conn.transaction()
            await transaction.start()
            try:
                await corrupt(conn, deal)
                found = await ledger_problems(conn)
                assert audit_names <= set(found), (name, found)
                assert app_names <= await _application_check(conn), name
            finally:
                await transaction.rollback()
        assert await ledger_problems(conn) == {}
    finally:
        await conn.close()


async def test_balances_follow_every_movement(fresh_api: Api, fresh_db: Database) -> None:
    """Top-up, funding, a release and a split settlement, each checked against the wallets."""
    api = fresh_api
    admin = await create_admin(api, fresh_db.async_url)
    deal = await funded_deal(api, plan=(2550, 10000))
    customer_wallet = ok(
        await api.client.get("/api/connection/wallet", headers=deal.customer.headers)
    )
    assert customer_wallet["balance"] == 0
    assert [e["kind"] for e in customer_wallet["entries"]] == ["escrow_fund", "top_up"]
    assert [e["amount"] for e in customer_wallet["entries"]] == [-125.5, 125.5]

    ok(await deal.submit(0))
    ok(await deal.approve(0))
    dispute = ok(await deal.dispute(deal.vendor), 201)
    resolved = ok(await deal.resolve(admin, dispute["dispute_id"], "split", vendor_share=3333))
    assert resolved["escrow_status"] == "settled" and resolved["job_status"] == "completed"

    escrow = await deal.escrow()
    assert (escrow["funded"], escrow["released"], escrow["refunded"], escrow["balance"]) == (
        125.5,
        pounds(2550 + 3333),
        pounds(10000 - 3333),
        0,
    )
    vendor_wallet = ok(await api.client.get("/api/connection/wallet", headers=deal.vendor.headers))
    assert vendor_wallet["balance"] == pounds(2550 + 3333)
    customer_wallet = ok(
        await api.client.get("/api/connection/wallet", headers=deal.customer.headers)
    )
    assert customer_wallet["balance"] == pounds(10000 - 3333)
