"""No partial state: a refused payment and a failure injected half-way through a transaction
both leave the database exactly as it was, and the same request (same Idempotency-Key) succeeds
once the fault is gone.

Faults are real PostgreSQL errors raised by triggers the test installs: a row in
``tm_test_faults`` arms the trigger of one table (optionally only for ledger entries of one kind
of account), so the request fails at exactly that write, after everything before it was written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.flows.database import Database, changes, snapshot, unchanged
from tests.flows.deals import (
    API,
    Deal,
    assert_invalid_transition,
    awarded_deal,
    funded_deal,
    new_key,
    ok,
    quoted_deal,
)
from tests.flows.users import Api, User, create_admin
from tradematch.core.database import create_engine
from tradematch.events.verify import verify_chains
from tradematch.sessions import create_sessionmaker

REPLAYED = "Idempotent-Replayed"
FAULTY_TABLES = ("jobs", "escrow_accounts", "milestones", "ledger_entries", "event_log")

INSTALL_FAULTS = """
CREATE TABLE tm_test_faults (
    tbl text PRIMARY KEY,
    sqlstate text NOT NULL,
    account_kind text
);
CREATE FUNCTION tm_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fault tm_test_faults%ROWTYPE;
BEGIN
    SELECT * INTO fault FROM tm_test_faults WHERE tbl = TG_TABLE_NAME || ':' || TG_WHEN;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF fault.account_kind IS NOT NULL THEN  -- only ledger entries of that kind of account
        IF NOT EXISTS (SELECT 1 FROM ledger_accounts
                        WHERE id = NEW.account_id AND kind = fault.account_kind) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'injected fault on %', TG_TABLE_NAME USING ERRCODE = fault.sqlstate;
END $$;
"""


@dataclass
class Faults:
    """Arm a fault: the next write to ``table`` (``BEFORE``: as the row is written; ``AFTER``:
    at COMMIT, through a deferred constraint trigger) fails with ``sqlstate``."""

    conn: Any

    async def arm(
        self,
        table: str,
        *,
        sqlstate: str = "XX000",
        when: str = "BEFORE",
        account_kind: str | None = None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO tm_test_faults VALUES ($1, $2, $3)",
            f"{table}:{when}",
            sqlstate,
            account_kind,
        )

    async def disarm(self) -> None:
        await self.conn.execute("DELETE FROM tm_test_faults")


@pytest_asyncio.fixture
async def faults(fresh_db: Database) -> AsyncIterator[Faults]:
    conn = await fresh_db.connect()
    await conn.execute(INSTALL_FAULTS)
    for table in FAULTY_TABLES:
        await conn.execute(
            f"CREATE TRIGGER tm_test_fault_before BEFORE INSERT OR UPDATE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION tm_test_fault()"
        )
        await conn.execute(
            f"CREATE CONSTRAINT TRIGGER tm_test_fault_at_commit AFTER INSERT OR UPDATE ON {table}"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_test_fault()"
        )
    try:
        yield Faults(conn)
    finally:
        await conn.close()


async def _chains_verify(db: Database) -> None:
    engine = create_engine(db.async_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            report = await verify_chains(session)
    finally:
        await engine.dispose()
    assert report.ok, report.breaks


# --- 402 -----------------------------------------------------------------------------------


async def test_funding_without_enough_money_is_the_seeds_402_and_changes_nothing(
    fresh_api: Api, fresh_db: Database
) -> None:
    deal = await awarded_deal(fresh_api, vendors=2, plan=(5000, 7050))  # £120.50
    key = new_key()

    # No wallet at all yet: available 0 (and no wallet account is left behind).
    async with unchanged(fresh_db):
        refused = await deal.api.client.post(
            f"{API}/jobs/{deal.job_id}/escrow/fund",
            json={},
            headers={**deal.customer.headers, "Idempotency-Key": key},
        )
    assert refused.status_code == 402
    assert refused.json() == {
        "error": "Insufficient funds",
        "code": "ESCROW_INSUFFICIENT_BALANCE",
        "required": 120.5,
        "available": 0,
    }

    await deal.top_up(12049)  # one penny short
    async with unchanged(fresh_db):
        refused = await deal.api.client.post(
            f"{API}/jobs/{deal.job_id}/escrow/fund",
            json={},
            headers={**deal.customer.headers, "Idempotency-Key": key},
        )
    assert refused.status_code == 402
    assert REPLAYED not in refused.headers  # a failure is not stored, so it is not replayed
    assert refused.json() == {
        "error": "Insufficient funds",
        "code": "ESCROW_INSUFFICIENT_BALANCE",
        "required": 120.5,
        "available": 120.49,
    }
    escrow = await deal.escrow()
    assert (escrow["status"], escrow["funded"], escrow["balance"]) == ("pending", 0, 0)

    # The same key, once the money is there, runs the request for real.
    await deal.top_up(1)
    funded = await deal.api.client.post(
        f"{API}/jobs/{deal.job_id}/escrow/fund",
        json={},
        headers={**deal.customer.headers, "Idempotency-Key": key},
    )
    assert funded.status_code == 200, funded.text
    assert REPLAYED not in funded.headers
    assert funded.json()["status"] == "held" and funded.json()["funded"] == 120.5
    wallet = ok(await deal.api.client.get(f"{API}/wallet", headers=deal.customer.headers))
    assert wallet["balance"] == 0


# --- injected faults -------------------------------------------------------------------------


Request = Callable[[Deal, User, str], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Scenario:
    """``prepare`` builds the deal; ``request`` is the call that fails at the armed fault and
    is then retried with the same key; ``check`` looks at the outcome of the retry."""

    prepare: Callable[[Api], Awaitable[Deal]]
    request: Request
    fault: dict[str, Any]
    check: Callable[[Deal], Awaitable[None]]


async def _two_quotes(api: Api) -> Deal:
    return await quoted_deal(api, vendors=2, plans=[(4000, 8000), (15000,)])


async def _awarded_with_money(api: Api) -> Deal:
    deal = await awarded_deal(api, vendors=1, plan=(12000,))
    await deal.top_up(12000)
    return deal


async def _last_submitted(api: Api) -> Deal:
    deal = await funded_deal(api, plan=(2000, 10000))
    for index in (0, 1):
        ok(await deal.submit(index))
    ok(await deal.approve(0))
    return deal


async def _disputed(api: Api) -> Deal:
    deal = await funded_deal(api, plan=(12000,))
    ok(await deal.dispute(), 201)
    return deal


def _with_key(user: User, key: str) -> dict[str, str]:
    return {**user.headers, "Idempotency-Key": key}


async def _award(deal: Deal, admin: User, key: str) -> httpx.Response:
    quote_id = deal.quotes[deal.vendors[0].user_id]
    path = f"{API}/quotes/{quote_id}/accept"
    return await deal.api.client.patch(path, json={}, headers=_with_key(deal.customer, key))


async def _fund(deal: Deal, admin: User, key: str) -> httpx.Response:
    path = f"{API}/jobs/{deal.job_id}/escrow/fund"
    return await deal.api.client.post(path, json={}, headers=_with_key(deal.customer, key))


async def _approve_last(deal: Deal, admin: User, key: str) -> httpx.Response:
    path = f"{API}/milestones/{deal.milestone_ids[1]}/approve"
    return await deal.api.client.patch(path, json={}, headers=_with_key(deal.customer, key))


async def _split(deal: Deal, admin: User, key: str) -> httpx.Response:
    disputes = ok(await deal.api.client.get("/api/admin/disputes", headers=admin.headers))
    dispute_id = next(d["dispute_id"] for d in disputes["items"] if d["job_id"] == deal.job_id)
    return await deal.api.client.patch(
        f"/api/admin/disputes/{dispute_id}/resolve",
        json={"resolution": "split", "vendor_share": 45},
        headers=_with_key(admin, key),
    )


async def _awarded(deal: Deal) -> None:
    assert (await deal.job())["status"] == "in_progress"
    deal.winner = deal.vendors[0]
    assert [m["amount"] for m in await deal.milestones()] == [40, 80]
    loser = deal.vendors[1]
    lead_path = f"{API}/leads/{deal.leads[loser.user_id]}"
    assert ok(await deal.api.client.get(lead_path, headers=loser.headers))["status"] == "closed"


async def _held(deal: Deal) -> None:
    assert (await deal.escrow())["status"] == "held"


async def _completed(deal: Deal) -> None:
    assert (await deal.escrow())["status"] == "released"
    assert (await deal.job())["status"] == "completed"


async def _split_settled(deal: Deal) -> None:
    escrow = await deal.escrow()
    assert (escrow["status"], escrow["released"], escrow["refunded"]) == ("settled", 45, 75)
    assert (await deal.job())["status"] == "completed"


SCENARIOS = {
    # Award: quote, job, leads, the losing quote and conversation, escrow written; milestones fail.
    "award_fails_at_milestones": Scenario(_two_quotes, _award, {"table": "milestones"}, _awarded),
    # Award: a transient failure (serialization) as the escrow opens; the client retries.
    "award_serialization_failure": Scenario(
        _two_quotes, _award, {"table": "escrow_accounts", "sqlstate": "40001"}, _awarded
    ),
    # Fund: escrow set to held, the ledger transaction and the wallet's entry written; the
    # escrow's entry fails.
    "fund_fails_at_the_escrow_entry": Scenario(
        _awarded_with_money, _fund, {"table": "ledger_entries", "account_kind": "escrow"}, _held
    ),
    # Approving the last milestone: released, paid, job completed, conversation archived,
    # idempotency record stored; then the events fail (the last write before COMMIT).
    "approve_fails_writing_events": Scenario(
        _last_submitted, _approve_last, {"table": "event_log"}, _completed
    ),
    # The same, failing at COMMIT itself (a deferred constraint trigger).
    "approve_fails_at_commit": Scenario(
        _last_submitted, _approve_last, {"table": "event_log", "when": "AFTER"}, _completed
    ),
    # A split: the vendor's share is paid; the customer's refund fails.
    "split_fails_at_the_refund": Scenario(
        _disputed,
        _split,
        {"table": "ledger_entries", "account_kind": "customer_wallet"},
        _split_settled,
    ),
}


@pytest.mark.tracebacks  # the faults are injected on purpose: each is a logged 500
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_a_failure_half_way_leaves_nothing_and_the_retry_succeeds(
    fresh_api: Api, fresh_db: Database, faults: Faults, name: str
) -> None:
    scenario = SCENARIOS[name]
    admin = await create_admin(fresh_api, fresh_db.async_url)
    deal = await scenario.prepare(fresh_api)
    key = new_key()

    await faults.arm(**scenario.fault)
    conn = await fresh_db.connect()
    try:
        before = await snapshot(conn)
        failed = await scenario.request(deal, admin, key)
        if scenario.fault.get("sqlstate") == "40001":
            assert failed.status_code == 409, failed.text
            assert failed.json() == {"error": "Concurrent change; retry", "code": "CONFLICT"}
        else:
            assert failed.status_code == 500, failed.text
            assert failed.json() == {"error": "Internal server error", "code": "INTERNAL_ERROR"}
        assert changes(before, await snapshot(conn)) == {}
    finally:
        await conn.close()

    await faults.disarm()
    retried = await scenario.request(deal, admin, key)
    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers  # the failed attempt stored no idempotency record
    await scenario.check(deal)
    replayed = await scenario.request(deal, admin, key)
    assert replayed.headers.get(REPLAYED) == "true" and replayed.content == retried.content
    await _chains_verify(fresh_db)  # no gap or fork in the job's hash chain


async def test_a_refused_transition_half_way_through_the_award_rolls_back(
    fresh_api: Api, fresh_db: Database
) -> None:
    """The award changes the job before it looks at the quote: a quote that was rejected in the
    meantime makes it fail after the job row was already changed in the transaction."""
    deal = await quoted_deal(fresh_api, vendors=2)
    rejected_quote = deal.quotes[deal.vendors[0].user_id]
    ok(
        await deal.api.client.patch(
            f"{API}/quotes/{rejected_quote}/reject", json={}, headers=deal.customer.headers
        )
    )
    async with unchanged(fresh_db):
        refused = await deal.api.client.patch(
            f"{API}/quotes/{rejected_quote}/accept", json={}, headers=deal.customer.headers
        )
    assert_invalid_transition(refused, "rejected", "quote")
    assert (await deal.job())["status"] == "live"
