"""An audit of the ledger independent of the application's: every balance rebuilt from the
entries in Python and checked against contract §5, and the application's own check beside it."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.flows.database import Database
from tradematch.core.database import create_engine
from tradematch.escrow.ledger import invariant_violations
from tradematch.sessions import create_sessionmaker

FUNDED_BY = "escrow_fund"
RELEASED_BY = ("milestone_release", "dispute_release")
REFUNDED_BY = "dispute_refund"


FINISHED_JOB = ("completed", "closed", "cancelled", "expired")
TERMINAL_ESCROW = ("released", "refunded", "settled", "cancelled")
TERMINAL_MILESTONE = ("released", "settled", "cancelled")


def escrow_state_fits(status: str, total: int, funded: int, released: int, refunded: int) -> bool:
    """Contract §4/§5: what an escrow in each state holds. Funding is all or nothing, refunds
    only ever come from a dispute resolution, which ends the escrow: ``refunded`` when the
    customer got everything back, ``settled`` when the vendor was paid part, ``cancelled`` when
    it was never funded."""
    left = funded - released - refunded
    whole = funded == total
    return {
        "pending": funded == 0,
        "held": whole and released == 0 and refunded == 0,
        "partial_released": whole and released > 0 and left > 0 and refunded == 0,
        "released": whole and released == funded and refunded == 0,
        "refunded": whole and refunded == funded and released == 0,
        "settled": whole and refunded > 0 and released > 0 and left == 0,
        "cancelled": funded == 0 and released == 0 and refunded == 0,
        "disputed": whole and left > 0 and refunded == 0,
    }.get(status, False)


async def ledger_problems(conn: Any) -> dict[str, list[str]]:
    """Rebuild every balance from the entries, in Python, and check contract §5 and more: each
    transaction balances; stored balances equal their entries; no wallet or escrow below zero;
    no money created; every escrow's counters equal its ledger movements; released + refunded ≤
    funded; its state matches its balance; money moves only between the escrow and its own
    customer and vendor; money sits in escrow only while the job runs."""
    problems: dict[str, list[str]] = defaultdict(list)
    accounts = {
        r["id"]: (r["kind"], r["owner_ref"], int(r["balance_pence"]))
        for r in await conn.fetch("SELECT id, kind, owner_ref, balance_pence FROM ledger_accounts")
    }
    transactions = {
        r["id"]: (r["kind"], r["job_id"])
        for r in await conn.fetch("SELECT id, kind, job_id FROM ledger_transactions")
    }
    caused_by = {
        r["id"]: r["event_id"]
        for r in await conn.fetch("SELECT id, event_id FROM ledger_transactions")
    }
    recorded = {
        r["id"]: json.loads(r["payload"])
        for r in await conn.fetch(
            "SELECT e.id, e.payload FROM event_log e"
            " WHERE e.id IN (SELECT event_id FROM ledger_transactions)"
        )
    }
    entries_of: dict[str, list[tuple[int, int]]] = defaultdict(list)
    rebuilt: dict[int, int] = defaultdict(int)
    for r in await conn.fetch(
        "SELECT transaction_id, account_id, amount_pence FROM ledger_entries"
    ):
        entries_of[r["transaction_id"]].append((r["account_id"], int(r["amount_pence"])))
        rebuilt[r["account_id"]] += int(r["amount_pence"])

    for txn_id in transactions:
        moves = entries_of.get(txn_id, [])
        if len(moves) < 2:
            problems["transaction with fewer than two entries"].append(txn_id)
        if sum(amount for _, amount in moves) != 0:
            problems["unbalanced transaction"].append(txn_id)
        # Every movement is an event: the transaction names it, it records the transaction.
        payload = recorded.get(caused_by[txn_id])
        moved = sum(amount for _, amount in moves if amount > 0)
        if payload is None:
            problems["transaction without the event that caused it"].append(txn_id)
        elif payload.get("transaction_id") != txn_id or (
            Decimal(str(payload.get("amount"))) * 100 != moved
        ):
            problems["transaction differs from its event's record"].append(txn_id)
    for account_id, (kind, owner, stored) in accounts.items():
        if stored != rebuilt.get(account_id, 0):
            problems["stored balance differs from its entries"].append(f"{kind}:{owner}")
        if kind != "provider" and stored < 0:
            problems["negative wallet or escrow balance"].append(f"{kind}:{owner}")
    if sum(rebuilt.values()) != 0:
        problems["money created or destroyed"].append(str(sum(rebuilt.values())))

    account_id_of = {(kind, owner): a for a, (kind, owner, _) in accounts.items()}
    escrows = await conn.fetch(
        "SELECT x.id, x.job_id, x.customer_id, x.vendor_id, x.status, x.total_pence,"
        " x.funded_pence, x.released_pence, x.refunded_pence, j.status AS job_status"
        " FROM escrow_accounts x JOIN jobs j ON j.id = x.job_id"
    )
    milestone_rows = await conn.fetch(
        "SELECT m.id, m.escrow_id, m.amount_pence, m.status, j.status AS job_status"
        " FROM milestones m JOIN jobs j ON j.id = m.job_id"
    )
    planned: dict[str, int] = defaultdict(int)
    paid_milestones: dict[str, int] = defaultdict(int)
    for m in milestone_rows:
        planned[m["escrow_id"]] += int(m["amount_pence"])
        if m["status"] == "released":
            paid_milestones[m["escrow_id"]] += int(m["amount_pence"])
        if m["job_status"] in FINISHED_JOB and m["status"] not in TERMINAL_MILESTONE:
            problems["milestone left open on a finished job"].append(f"{m['id']}:{m['status']}")

    escrow_ids = {x["id"] for x in escrows}
    for (kind, owner), _account in account_id_of.items():
        if kind == "escrow" and owner not in escrow_ids:
            problems["ledger escrow account without an escrow"].append(owner)

    for x in escrows:
        esc = x["id"]
        total, funded = int(x["total_pence"]), int(x["funded_pence"])
        released, refunded = int(x["released_pence"]), int(x["refunded_pence"])
        account = account_id_of.get(("escrow", esc))
        balance = accounts[account][2] if account is not None else 0
        customer_wallet = account_id_of.get(("customer_wallet", x["customer_id"]))
        vendor_wallet = account_id_of.get(("vendor_wallet", x["vendor_id"]))
        flows: dict[str, int] = defaultdict(int)
        for txn_id, moves in entries_of.items():
            mine = [amount for acc, amount in moves if acc == account]
            if account is None or not mine:
                continue
            kind, job_id = transactions[txn_id]
            flows[kind] += sum(mine)
            if job_id != x["job_id"]:
                problems["escrow movement recorded against another job"].append(txn_id)
            counterpart = {acc for acc, _ in moves if acc != account}
            expected = {
                FUNDED_BY: customer_wallet,
                REFUNDED_BY: customer_wallet,
                **dict.fromkeys(RELEASED_BY, vendor_wallet),
            }.get(kind)
            if expected is None or counterpart != {expected}:
                problems["escrow money moved to or from a stranger"].append(txn_id)
        if flows[FUNDED_BY] != funded:
            problems["funded differs from the ledger"].append(esc)
        if -sum(flows[k] for k in RELEASED_BY) != released:
            problems["released differs from the ledger"].append(esc)
        if -flows[REFUNDED_BY] != refunded:
            problems["refunded differs from the ledger"].append(esc)
        if balance != funded - released - refunded:
            problems["escrow balance differs from funded - released - refunded"].append(esc)
        if not 0 <= released + refunded <= funded <= total:
            problems["released + refunded exceed funded (or funded exceeds total)"].append(esc)
        if not escrow_state_fits(x["status"], total, funded, released, refunded):
            problems["escrow state does not match its balance"].append(f"{esc}:{x['status']}")
        if planned[esc] != total:
            problems["milestones do not add up to the escrow"].append(esc)
        if -flows["milestone_release"] != paid_milestones[esc]:
            problems["milestone releases differ from released milestones"].append(esc)
        job_status = x["job_status"]
        if balance > 0 and job_status not in ("in_progress", "disputed"):
            problems["money left in escrow of a finished job"].append(f"{esc}:{job_status}")
        if x["status"] in ("held", "partial_released") and job_status != "in_progress":
            problems["funded escrow on a job not in progress"].append(f"{esc}:{job_status}")
        if job_status in FINISHED_JOB and x["status"] not in TERMINAL_ESCROW:
            problems["escrow left open on a finished job"].append(f"{esc}:{x['status']}")
        if x["status"] == "disputed" and job_status != "disputed":
            problems["disputed escrow on an undisputed job"].append(f"{esc}:{job_status}")
    return dict(problems)


async def money_violations(
    conn: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> dict[str, list[str]]:
    """The application's own invariant check and the independent audit, merged."""
    async with sessionmaker() as session:
        found = await invariant_violations(session)
    for name, rows in (await ledger_problems(conn)).items():
        found.setdefault(name, []).extend(rows)
    return found


async def database_violations(db: Database) -> dict[str, list[str]]:
    engine = create_engine(db.async_url, pool_size=1)
    conn = await db.connect()
    try:
        return await money_violations(conn, create_sessionmaker(engine))
    finally:
        await conn.close()
        await engine.dispose()
