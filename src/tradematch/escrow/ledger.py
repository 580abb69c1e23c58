"""The double-entry ledger.

Every movement of money is one ``ledger_transactions`` row with entries that sum to zero
(checked here and again by a deferred constraint trigger at COMMIT). Balances on
``ledger_accounts`` are maintained by a trigger on each entry and can never go negative except
for the external provider account; ``invariant_violations()`` rebuilds everything from the
entries and compares.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.escrow import repository
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
    await repository.ensure_account(session, kind, owner_ref)
    row = await repository.account(session, kind, owner_ref, lock=lock)
    return AccountRef(row.id, row.kind, row.owner_ref, int(row.balance_pence))


async def balance(session: AsyncSession, kind: str, owner_ref: str) -> int:
    return await repository.balance(session, kind, owner_ref)


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
    await repository.add_transaction(
        session,
        transaction_id,
        kind=kind,
        job_id=job_id,
        event_id=event_id,
        entries=[(acc.id, amount) for acc, amount in moves],
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


async def invariant_violations(session: AsyncSession) -> dict[str, list[str]]:
    """Every money invariant of contract §5, rebuilt from the entries: empty when all hold."""
    return await repository.invariant_violations(session)
