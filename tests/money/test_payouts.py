"""Money leaving: payouts from a wallet to the owner's bank through the payment provider, and the
sandbox cap on top-ups. The ledger audit runs after every test here."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from tests.flows.database import Database, unchanged
from tests.flows.deals import API, call, funded_deal, new_key, ok
from tests.flows.servers import LiveServer
from tests.flows.users import Api, User, create_admin

PAYOUTS = f"{API}/wallet/payouts"


async def _pay_out(api: Api, user: User, amount: Any, *, key: str | None = None) -> httpx.Response:
    return await call(api, "POST", PAYOUTS, user, {"amount": amount}, key=key or new_key())


async def _top_up(api: Api, user: User, amount: Any) -> httpx.Response:
    return await call(api, "POST", f"{API}/wallet/top-up", user, {"amount": amount}, key=new_key())


async def _balance(api: Api, user: User) -> Any:
    return ok(await api.client.get(f"{API}/wallet", headers=user.headers))["balance"]


async def _ledger_of(db: Database, transaction_id: str) -> list[tuple[str, str, int]]:
    conn = await db.connect()
    try:
        rows = await conn.fetch(
            "SELECT a.kind, a.owner_ref, e.amount_pence FROM ledger_entries e"
            " JOIN ledger_accounts a ON a.id = e.account_id JOIN ledger_transactions t"
            " ON t.id = e.transaction_id WHERE t.id = $1 AND t.kind = 'payout'"
            " ORDER BY e.amount_pence",
            transaction_id,
        )
    finally:
        await conn.close()
    return [(r["kind"], r["owner_ref"], int(r["amount_pence"])) for r in rows]


async def test_a_customer_pays_out_part_of_the_sandbox_balance(
    api: Api, worker_db: Database
) -> None:
    customer = await api.customer()
    ok(await _top_up(api, customer, 100))
    made = ok(await _pay_out(api, customer, 40.5), 201)
    assert (made["amount"], made["status"], made["wallet"], made["balance"]) == (
        40.5,
        "sent",
        "customer_wallet",
        59.5,
    )
    assert made["provider"] == "sandbox" and made["sent_at"] is not None
    assert await _balance(api, customer) == 59.5
    # One balanced transaction from the wallet to the provider's payout account.
    assert await _ledger_of(worker_db, made["transaction_id"]) == [
        ("customer_wallet", customer.user_id, -4050),
        ("provider", f"payout:{customer.user_id}", 4050),
    ]
    wallet = ok(await api.client.get(f"{API}/wallet", headers=customer.headers))
    newest = wallet["entries"][0]
    assert (newest["kind"], newest["amount"]) == ("payout", -40.5)
    listed = ok(await api.client.get(PAYOUTS, headers=customer.headers))
    assert [p["payout_id"] for p in listed["items"]] == [made["payout_id"]]
    # The event, to the user alone, and its notification.
    events = ok(await api.client.get(f"{API}/notifications", headers=customer.headers))
    assert any(n["title"] == "Payout sent" and "£40.50" in n["body"] for n in events["items"])
    conn = await worker_db.connect()
    try:
        event = await conn.fetchrow(
            "SELECT type, payload FROM event_log WHERE id = $1", made["event_id"]
        )
        linked = await conn.fetchval(
            "SELECT event_id FROM ledger_transactions WHERE id = $1", made["transaction_id"]
        )
    finally:
        await conn.close()
    assert event["type"] == "PAYOUT_SENT" and linked == made["event_id"]


async def test_a_vendor_pays_out_released_earnings(api: Api, worker_db: Database) -> None:
    deal = await funded_deal(api, plan=(3000, 9000))
    ok(await deal.submit(0))
    ok(await deal.approve(0))
    made = ok(await _pay_out(api, deal.vendor, 30), 201)
    assert (made["wallet"], made["balance"]) == ("vendor_wallet", 0)
    short = await _pay_out(api, deal.vendor, 0.01)
    assert short.status_code == 402, short.text
    # Other users' payouts are not listed; the admin sees everyone's.
    assert ok(await api.client.get(PAYOUTS, headers=deal.customer.headers))["items"] == []
    admin = await create_admin(api, worker_db.async_url)
    every = ok(await api.client.get("/api/admin/payouts", headers=admin.headers))
    mine = [p for p in every["items"] if p["payout_id"] == made["payout_id"]]
    assert [p["user_id"] for p in mine] == [deal.vendor.user_id]


async def test_a_payout_larger_than_the_balance_is_a_402_that_changes_nothing(
    api: Api, worker_db: Database
) -> None:
    customer = await api.customer()
    ok(await _top_up(api, customer, 25))
    key = new_key()
    async with unchanged(worker_db):
        short = await _pay_out(api, customer, 25.01, key=key)
    assert short.status_code == 402, short.text
    assert short.json() == {
        "error": "Insufficient funds",
        "code": "INSUFFICIENT_FUNDS",
        "required": 25.01,
        "available": 25,
    }
    # The refused key was not kept: the same key may be used for a payout that fits.
    assert ok(await _pay_out(api, customer, 25, key=key), 201)["balance"] == 0
    for bad in (0, -1, 0.001, "ten", None, 1_000_000.01):
        async with unchanged(worker_db):
            refused = await _pay_out(api, customer, bad)
        assert refused.status_code == 422, (bad, refused.text)


async def test_a_replayed_payout_pays_once(api: Api, worker_db: Database) -> None:
    customer = await api.customer()
    ok(await _top_up(api, customer, 50))
    key = new_key()
    first = ok(await _pay_out(api, customer, 20, key=key), 201)
    async with unchanged(worker_db):
        again = await _pay_out(api, customer, 20, key=key)
    assert again.status_code == 201 and again.json() == first
    assert await _balance(api, customer) == 30
    other_body = await _pay_out(api, customer, 21, key=key)
    assert other_body.status_code == 422, other_body.text


async def test_admins_have_no_wallet_to_pay_out_from(api: Api, worker_db: Database) -> None:
    admin = await create_admin(api, worker_db.async_url)
    refused = await _pay_out(api, admin, 1)
    assert refused.status_code == 403, refused.text


async def test_a_top_up_above_the_sandbox_cap_is_refused(api: Api, worker_db: Database) -> None:
    """The sandbox wallet holds at most £1,000,000 (docs/decisions.md): repeated top-ups no
    longer reach any balance."""
    customer = await api.customer()
    ok(await _top_up(api, customer, 999_999))
    async with unchanged(worker_db):
        over = await _top_up(api, customer, 1.01)
    assert over.status_code == 409, over.text
    assert over.json() == {
        "error": "This top-up would take the sandbox wallet above its cap",
        "code": "WALLET_CAP_EXCEEDED",
        "cap": 1_000_000,
        "balance": 999_999,
    }
    ok(await _top_up(api, customer, 1))  # up to the cap exactly
    assert await _balance(api, customer) == 1_000_000
    # Money paid out makes room again.
    ok(await _pay_out(api, customer, 10), 201)
    ok(await _top_up(api, customer, 10))


# --- under real concurrency ------------------------------------------------------------------

CLICKS = 12


@pytest_asyncio.fixture
async def live_api(live_server: LiveServer) -> AsyncIterator[Api]:
    limits = httpx.Limits(max_connections=CLICKS * 2, max_keepalive_connections=CLICKS * 2)
    async with httpx.AsyncClient(
        base_url=live_server.base_url, timeout=60, limits=limits
    ) as client:
        yield Api(client)


async def test_concurrent_payouts_never_overdraw(live_api: Api, fresh_db: Database) -> None:
    """Twelve £30 payouts at once against £100: exactly three are sent, the rest are 402, and
    the wallet ends at £10 (the ledger audit after the test checks every balance)."""
    api = live_api
    customer = await api.customer()
    ok(await _top_up(api, customer, 100))
    answers = await asyncio.gather(*(_pay_out(api, customer, 30) for _ in range(CLICKS)))
    tally = Counter(r.status_code for r in answers)
    assert tally == {201: 3, 402: CLICKS - 3}, [r.text for r in answers]
    assert await _balance(api, customer) == 10
    listed = ok(await api.client.get(PAYOUTS, headers=customer.headers))
    assert len(listed["items"]) == 3

    # Concurrent top-ups near the cap: the cap holds too.
    rich = await api.customer()
    ok(await _top_up(api, rich, 999_950))
    tops = await asyncio.gather(*(_top_up(api, rich, 20) for _ in range(CLICKS)))
    assert Counter(r.status_code for r in tops) == {200: 2, 409: CLICKS - 2}
    assert await _balance(api, rich) == 999_990
