"""The double-entry ledger.

Every movement of money is one ``ledger_transactions`` row with entries that sum to zero
(checked here and again by a deferred constraint trigger at COMMIT), linked to the event that
caused it (``event_id``: NOT NULL for every row written since the link was introduced, and a
deferred foreign key into the event log). The event's payload records the transaction's id and
amount, and ``tradematch events verify`` checks the two against each other. Balances on
``ledger_accounts`` are maintained by a trigger on each entry and can never go negative except
for the external provider account; ``invariant_violations()`` rebuilds everything from the
entries and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.escrow import repository
from tradematch.kit.ids import new_id
from tradematch.kit.money import money_text

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
    event_id: str,
    job_id: str | None = None,
) -> str:
    """Write one balanced transaction: ``moves`` are (account, signed pence) and sum to zero.

    ``event_id`` names the event that caused it (drawn with ``events.log.new_event_id`` and
    emitted in the same transaction; the database checks it exists at COMMIT)."""
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
    event_id: str,
    job_id: str | None = None,
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


@dataclass(frozen=True)
class EventMismatch:
    """A ledger transaction and the event log disagree about it."""

    transaction_id: str
    event_id: str | None
    job_id: str | None
    reason: str


def _pounds(pence: Decimal | int | None) -> str:
    return "nothing" if pence is None else money_text(int(pence))


async def event_mismatches(session: AsyncSession) -> list[EventMismatch]:
    """Cross-check the money the event log records (every money event names its transaction
    and amount) against the ledger: empty when they agree."""
    found: list[EventMismatch] = []
    for row in await repository.event_mismatches(session):
        transaction_id = row.transaction_id or row.recorded_transaction_id
        event_id = row.recording_event_id or row.linked_event_id
        if row.transaction_id is None:
            reason = (
                f"{row.event_type} records {_pounds(row.recorded_pence)} moved by a ledger "
                "transaction that does not exist"
            )
        elif row.event_missing:
            reason = f"the ledger transaction names event {row.linked_event_id}, not in the log"
        elif row.recording_event_id is None:
            reason = (
                f"the ledger transaction names event {row.linked_event_id}, which does not "
                "record it"
            )
        elif row.linked_event_id is not None and row.linked_event_id != row.recording_event_id:
            reason = (
                f"{row.event_type} {row.recording_event_id} records it, but the ledger "
                f"transaction names event {row.linked_event_id}"
            )
        else:
            reason = (
                f"{row.event_type} records {_pounds(row.recorded_pence)}, the ledger "
                f"{row.kind} moved {_pounds(row.ledger_pence)}"
            )
        found.append(EventMismatch(transaction_id, event_id, row.job_id, reason))
    return found
