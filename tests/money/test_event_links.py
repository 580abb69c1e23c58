"""Every movement of money is an event (contract §5): each ledger transaction names the event
that caused it, the event records the transaction and its amount, a top-up is an event of its
own (job-less, seen by the customer alone) whose id the response carries, and
``tradematch events verify`` reports a ledger that no longer agrees with the log."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from tests.flows.database import Database, fetch
from tests.flows.deals import API, funded_deal, ok
from tests.flows.users import Api, create_admin
from tradematch.kit.ids import new_id

PLAN = (4050, 8000)  # £40.50 released before the dispute, £80 refunded by it


async def _feed(api: Api, user: Any) -> list[dict[str, Any]]:
    found = ok(await api.client.get(f"{API}/events", params={"after": 0}, headers=user.headers))
    return list(found["items"])


async def test_a_top_up_is_an_event_the_customer_alone_sees(api: Api, worker_db: Database) -> None:
    customer, stranger = await api.customer(), await api.customer()

    topped = ok(
        await api.client.post(
            f"{API}/wallet/top-up", json={"amount": 12.5}, headers=customer.headers
        )
    )

    assert topped["event_id"].startswith("evt_") and topped["balance"] == 12.5
    mine = [e for e in await _feed(api, customer) if e["type"] == "WALLET_TOPPED_UP"]
    assert [e["event_id"] for e in mine] == [topped["event_id"]]
    assert mine[0]["job_id"] is None
    assert mine[0]["payload"]["amount"] == 12.5
    assert mine[0]["payload"]["transaction_id"] == topped["transaction_id"]
    assert all(e["event_id"] != topped["event_id"] for e in await _feed(api, stranger))
    [row] = await fetch(
        worker_db,
        "SELECT event_id FROM ledger_transactions WHERE id = $1",
        topped["transaction_id"],
    )
    assert row["event_id"] == topped["event_id"]


async def test_every_ledger_transaction_names_the_event_that_caused_it(
    api: Api, worker_db: Database
) -> None:
    admin = await create_admin(api, worker_db.async_url)
    deal = await funded_deal(api, plan=PLAN)
    ok(await deal.submit(0))
    ok(await deal.approve(0))
    raised = ok(await deal.dispute(), 201)
    ok(await deal.resolve(admin, raised["dispute_id"], "refund_customer"))

    rows = await fetch(
        worker_db,
        """
        SELECT t.id, t.kind, e.type, e.payload, e.job_id,
               (SELECT sum(amount_pence) FROM ledger_entries
                 WHERE transaction_id = t.id AND amount_pence > 0) AS pence
          FROM ledger_transactions t LEFT JOIN event_log e ON e.id = t.event_id
         WHERE t.job_id = $1 OR t.id IN (
               SELECT transaction_id FROM ledger_entries x
                 JOIN ledger_accounts a ON a.id = x.account_id
                WHERE a.kind = 'customer_wallet' AND a.owner_ref = $2)
         ORDER BY t.created_at, t.id
        """,
        deal.job_id,
        deal.customer.user_id,
    )
    moves = [(r["kind"], r["type"], r["pence"]) for r in rows]
    assert moves == [
        ("top_up", "WALLET_TOPPED_UP", 12050),
        ("escrow_fund", "ESCROW_FUNDED", 12050),
        ("milestone_release", "PAYMENT_RELEASED", 4050),
        ("dispute_refund", "PAYMENT_REFUNDED", 8000),
    ]
    for row in rows:
        payload = json.loads(row["payload"])
        assert payload["transaction_id"] == row["id"]
        assert round(payload["amount"] * 100) == row["pence"]


async def test_the_database_refuses_a_ledger_transaction_without_its_event(
    worker_db: Database,
) -> None:
    conn = await worker_db.connect()
    try:
        with pytest.raises(asyncpg.NotNullViolationError):
            await conn.execute(
                "INSERT INTO ledger_transactions (id, kind) VALUES ($1, 'top_up')", new_id("txn")
            )
        # An event id that is not in the log is refused at COMMIT (a deferred foreign key).
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO ledger_transactions (id, kind, event_id)"
                    " VALUES ($1, 'top_up', $2)",
                    new_id("txn"),
                    new_id("evt"),
                )
    finally:
        await conn.close()
