"""Every SQL statement on escrow accounts and the double-entry ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import EscrowScope
from tradematch.escrow.models import (
    EscrowAccount,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
)
from tradematch.kit.repository import add as add
from tradematch.kit.repository import one_or_none

# --- escrow accounts -------------------------------------------------------------------------


async def for_job(
    session: AsyncSession, scope: EscrowScope, job_id: str, *, lock: bool = False
) -> EscrowAccount | None:
    statement = select(EscrowAccount).where(EscrowAccount.job_id == job_id, scope)
    return await one_or_none(session, statement, lock=lock)


# --- ledger accounts, transactions and entries -----------------------------------------------


async def ensure_account(session: AsyncSession, kind: str, owner_ref: str) -> None:
    """Create the ledger account on first use (a concurrent creation is fine)."""
    await session.execute(
        pg_insert(LedgerAccount)
        .values(kind=kind, owner_ref=owner_ref)
        .on_conflict_do_nothing(index_elements=["kind", "owner_ref"])
    )


async def account(
    session: AsyncSession, kind: str, owner_ref: str, *, lock: bool = False
) -> Row[int, str, str, int]:
    statement = select(
        LedgerAccount.id, LedgerAccount.kind, LedgerAccount.owner_ref, LedgerAccount.balance_pence
    ).where(LedgerAccount.kind == kind, LedgerAccount.owner_ref == owner_ref)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).one()


async def find_account(session: AsyncSession, kind: str, owner_ref: str) -> Row[int, int] | None:
    """(id, balance) of the account, if it was ever used."""
    result = await session.execute(
        select(LedgerAccount.id, LedgerAccount.balance_pence).where(
            LedgerAccount.kind == kind, LedgerAccount.owner_ref == owner_ref
        )
    )
    return result.first()


async def balance(session: AsyncSession, kind: str, owner_ref: str) -> int:
    result = await session.execute(
        select(LedgerAccount.balance_pence).where(
            LedgerAccount.kind == kind, LedgerAccount.owner_ref == owner_ref
        )
    )
    return int(result.scalar_one_or_none() or 0)


async def add_transaction(
    session: AsyncSession,
    transaction_id: str,
    *,
    kind: str,
    job_id: str | None,
    event_id: str | None,
    entries: list[tuple[int, int]],
) -> None:
    """One ledger transaction and its entries (account id, signed pence)."""
    await session.execute(
        insert(LedgerTransaction).values(
            id=transaction_id, kind=kind, job_id=job_id, event_id=event_id
        )
    )
    await session.execute(
        insert(LedgerEntry),
        [
            {"transaction_id": transaction_id, "account_id": account_id, "amount_pence": amount}
            for account_id, amount in entries
        ],
    )


async def entries_of(
    session: AsyncSession, account_id: int, *, limit: int
) -> list[Row[str, str, int, str | None, Any]]:
    """The account's latest entries with their transactions, newest first."""
    result = await session.execute(
        select(
            LedgerTransaction.id,
            LedgerTransaction.kind,
            LedgerEntry.amount_pence,
            LedgerTransaction.job_id,
            LedgerEntry.created_at,
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    return list(result.all())


# --- payouts ---------------------------------------------------------------------------------


async def add_payout(session: AsyncSession, payout: Payout) -> Payout:
    session.add(payout)
    await session.flush()
    await session.refresh(payout, ["created_at"])  # set by the database
    return payout


async def payouts_of(session: AsyncSession, user_id: str, *, limit: int) -> list[Payout]:
    """The user's own payouts, newest first."""
    result = await session.execute(
        select(Payout)
        .where(Payout.user_id == user_id)
        .order_by(Payout.created_at.desc(), Payout.id.desc())
        .limit(limit)
    )
    return list(result.scalars())


async def every_payout(session: AsyncSession, *, limit: int) -> list[Payout]:
    """Everyone's payouts, newest first (admins)."""
    result = await session.execute(
        select(Payout).order_by(Payout.created_at.desc(), Payout.id.desc()).limit(limit)
    )
    return list(result.scalars())


# --- the invariants, rebuilt from the entries ------------------------------------------------

INVARIANT_QUERIES: dict[str, str] = {
    "unbalanced transaction": """
        SELECT transaction_id FROM ledger_entries
         GROUP BY transaction_id HAVING sum(amount_pence) <> 0
    """,
    "stored balance differs from its entries": """
        SELECT a.id FROM ledger_accounts a
          LEFT JOIN ledger_entries e ON e.account_id = a.id
         GROUP BY a.id, a.balance_pence HAVING a.balance_pence <> coalesce(sum(e.amount_pence), 0)
    """,
    "negative wallet or escrow balance": """
        SELECT id FROM ledger_accounts WHERE kind <> 'provider' AND balance_pence < 0
    """,
    "released + refunded exceed funded": """
        SELECT id FROM escrow_accounts WHERE released_pence + refunded_pence > funded_pence
    """,
    "escrow balance differs from funded - released - refunded": """
        SELECT x.id FROM escrow_accounts x
          LEFT JOIN ledger_accounts a ON a.kind = 'escrow' AND a.owner_ref = x.id
         WHERE coalesce(a.balance_pence, 0) <> x.funded_pence - x.released_pence - x.refunded_pence
    """,
    "escrow state does not match its balance": """
        SELECT id FROM escrow_accounts WHERE NOT (
             (status = 'pending' AND funded_pence = 0)
          OR (status = 'held' AND funded_pence = total_pence AND released_pence = 0
              AND refunded_pence = 0)
          OR (status = 'partial_released' AND released_pence > 0
              AND released_pence + refunded_pence < funded_pence)
          OR (status = 'released' AND funded_pence > 0
              AND released_pence + refunded_pence = funded_pence AND refunded_pence = 0)
          OR (status = 'refunded' AND refunded_pence > 0 AND released_pence = 0
              AND refunded_pence = funded_pence)
          OR (status = 'settled' AND refunded_pence > 0 AND released_pence > 0
              AND released_pence + refunded_pence = funded_pence)
          OR (status = 'cancelled' AND funded_pence = 0)
          OR (status = 'disputed' AND funded_pence > released_pence + refunded_pence))
    """,
    "payout differs from its ledger transaction": """
        SELECT p.id FROM payouts p
          LEFT JOIN ledger_transactions t ON t.id = p.transaction_id AND t.kind = 'payout'
          LEFT JOIN ledger_accounts a ON a.kind = p.wallet_kind AND a.owner_ref = p.user_id
          LEFT JOIN ledger_entries e ON e.transaction_id = t.id AND e.account_id = a.id
         GROUP BY p.id, p.amount_pence HAVING coalesce(sum(e.amount_pence), 0) <> -p.amount_pence
    """,
    "finished job with an escrow still open": """
        SELECT x.id FROM escrow_accounts x JOIN jobs j ON j.id = x.job_id
         WHERE j.status IN ('completed', 'closed', 'cancelled', 'expired')
           AND x.status NOT IN ('released', 'refunded', 'settled', 'cancelled')
    """,
    "finished job with a milestone still open": """
        SELECT m.id FROM milestones m JOIN jobs j ON j.id = m.job_id
         WHERE j.status IN ('completed', 'closed', 'cancelled', 'expired')
           AND m.status NOT IN ('released', 'settled', 'cancelled')
    """,
}


async def invariant_violations(session: AsyncSession) -> dict[str, list[str]]:
    """Each invariant's offending ids (empty when all hold)."""
    found: dict[str, list[str]] = {}
    for name, query in INVARIANT_QUERIES.items():
        rows = [str(r[0]) for r in (await session.execute(text(query))).all()]
        if rows:
            found[name] = rows
    return found


# Each ledger transaction against the event that caused it. A money event records the
# transaction it caused in its payload (``transaction_id``, ``amount`` in pounds; releases from
# before that carry ``amount_pence``). Rows come back where the two disagree: the transaction
# names an event that is missing or does not record it, the event records a transaction the
# ledger does not have (or links elsewhere), or the amounts differ. Transactions written before
# the link existed (no ``event_id``) are checked only when an event records them.
_EVENT_MISMATCHES = """
WITH moved AS (
    SELECT t.id, t.kind, t.job_id, t.event_id,
           coalesce(sum(e.amount_pence) FILTER (WHERE e.amount_pence > 0), 0) AS pence
      FROM ledger_transactions t
      LEFT JOIN ledger_entries e ON e.transaction_id = t.id
     GROUP BY t.id
),
recorded AS (
    SELECT ev.id AS event_id, ev.type, ev.job_id, ev.payload->>'transaction_id' AS transaction_id,
           CASE
             WHEN jsonb_typeof(ev.payload->'amount') = 'number'
               THEN (ev.payload->>'amount')::numeric * 100
             WHEN jsonb_typeof(ev.payload->'amount_pence') = 'number'
               THEN (ev.payload->>'amount_pence')::numeric
           END AS pence
      FROM event_log ev
     WHERE jsonb_typeof(ev.payload->'transaction_id') = 'string'
)
SELECT m.id AS transaction_id, m.kind, coalesce(m.job_id, r.job_id) AS job_id,
       m.event_id AS linked_event_id, m.pence AS ledger_pence,
       r.event_id AS recording_event_id, r.type AS event_type, r.pence AS recorded_pence,
       r.transaction_id AS recorded_transaction_id,
       (m.event_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM event_log x WHERE x.id = m.event_id)) AS event_missing
  FROM moved m
  FULL JOIN recorded r ON r.transaction_id = m.id
 WHERE (m.id IS NULL)
    OR (r.event_id IS NULL AND m.event_id IS NOT NULL)
    OR (r.event_id IS NOT NULL AND m.event_id IS DISTINCT FROM r.event_id
        AND m.event_id IS NOT NULL)
    OR (r.event_id IS NOT NULL AND r.pence IS DISTINCT FROM m.pence)
 ORDER BY coalesce(m.id, r.transaction_id)
"""


async def event_mismatches(session: AsyncSession) -> list[Row[Any]]:
    """Ledger transactions and money events that disagree (see ``_EVENT_MISMATCHES``)."""
    return list((await session.execute(text(_EVENT_MISMATCHES))).all())
