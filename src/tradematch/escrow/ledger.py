"""The double-entry ledger.

Every movement of money is one ``ledger_transactions`` row with entries that sum to zero
(checked here and again by a deferred constraint trigger at COMMIT). Balances on
``ledger_accounts`` are maintained by a trigger on each entry and can never go negative except
for the external provider account; ``invariant_violations()`` rebuilds everything from the
entries and compares.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.escrow.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tradematch.kit.ids import new_id

PROVIDER = "provider"
CUSTOMER_WALLET = "customer_wallet"
VENDOR_WALLET = "vendor_wallet"
ESCROW = "escrow"


@dataclass(frozen=True)
class AccountRef:
    id: int
    kind: str
    owner_ref: str
    balance_pence: int


async def account(
    session: AsyncSession, kind: str, owner_ref: str, *, lock: bool = False
) -> AccountRef:
    """The account (created on first use), optionally locked for this transaction."""
    await session.execute(
        pg_insert(LedgerAccount)
        .values(kind=kind, owner_ref=owner_ref)
        .on_conflict_do_nothing(index_elements=["kind", "owner_ref"])
    )
    statement = select(
        LedgerAccount.id, LedgerAccount.kind, LedgerAccount.owner_ref, LedgerAccount.balance_pence
    ).where(LedgerAccount.kind == kind, LedgerAccount.owner_ref == owner_ref)
    if lock:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).one()
    return AccountRef(row.id, row.kind, row.owner_ref, int(row.balance_pence))


async def balance(session: AsyncSession, kind: str, owner_ref: str) -> int:
    result = await session.execute(
        select(LedgerAccount.balance_pence).where(
            LedgerAccount.kind == kind, LedgerAccount.owner_ref == owner_ref
        )
    )
    value = result.scalar_one_or_none()
    return int(value or 0)


async def post(
    session: AsyncSession,
    *,
    kind: str,
    moves: list[tuple[AccountRef, int]],
    job_id: str | None = None,
    event_id: str | None = None,
) -> str:
    """Write one balanced transaction: ``moves`` are (account, signed pence) and sum to zero."""
    moves = [(acc, amount) for acc, amount in moves if amount != 0]
    if not moves:
        raise ValueError("a ledger transaction needs at least one movement")
    if sum(amount for _acc, amount in moves) != 0:
        raise ValueError("a ledger transaction must balance")
    transaction_id = new_id("txn")
    await session.execute(
        insert(LedgerTransaction).values(
            id=transaction_id, kind=kind, job_id=job_id, event_id=event_id
        )
    )
    await session.execute(
        insert(LedgerEntry),
        [
            {"transaction_id": transaction_id, "account_id": acc.id, "amount_pence": amount}
            for acc, amount in moves
        ],
    )
    return transaction_id


async def transfer(
    session: AsyncSession,
    *,
    kind: str,
    source: AccountRef,
    destination: AccountRef,
    amount_pence: int,
    job_id: str | None = None,
    event_id: str | None = None,
) -> str:
    return await post(
        session,
        kind=kind,
        moves=[(source, -amount_pence), (destination, amount_pence)],
        job_id=job_id,
        event_id=event_id,
    )


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
          OR (status = 'refunded' AND refunded_pence > 0
              AND released_pence + refunded_pence = funded_pence)
          OR (status = 'disputed' AND funded_pence > released_pence + refunded_pence))
    """,
}


async def invariant_violations(session: AsyncSession) -> dict[str, list[str]]:
    """Every money invariant of contract §5, rebuilt from the entries: empty when all hold."""
    found: dict[str, list[str]] = {}
    for name, query in INVARIANT_QUERIES.items():
        rows = [str(r[0]) for r in (await session.execute(text(query))).all()]
        if rows:
            found[name] = rows
    return found
