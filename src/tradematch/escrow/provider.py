"""Payment providers. The built-in one is a sandbox wallet inside our own ledger.

A provider answers the questions the escrow needs: move the customer's money into a job's escrow
(or say how much is available), give money back to the customer, and pay a wallet's money out
to its owner's bank. A card or bank provider would implement the same interface and settle
against its ``provider`` ledger accounts.

Every operation takes the id of the event that causes it (drawn ahead with
``events.log.new_event_id``), which the ledger transaction records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.core.config import Settings
from tradematch.core.errors import Conflict, PaymentRequired
from tradematch.escrow import ledger
from tradematch.kit.money import pence_to_pounds


class InsufficientFunds(
    PaymentRequired, code="ESCROW_INSUFFICIENT_BALANCE", message="Insufficient funds"
):
    def __init__(self, required_pence: int, available_pence: int) -> None:
        super().__init__(
            required=pence_to_pounds(required_pence), available=pence_to_pounds(available_pence)
        )


class PayoutShort(InsufficientFunds, code="INSUFFICIENT_FUNDS"): ...


class WalletCapExceeded(
    Conflict,
    code="WALLET_CAP_EXCEEDED",
    message="This top-up would take the sandbox wallet above its cap",
):
    def __init__(self, cap_pence: int, balance_pence: int) -> None:
        super().__init__(cap=pence_to_pounds(cap_pence), balance=pence_to_pounds(balance_pence))


@dataclass(frozen=True)
class EscrowMove:
    """Money moving between a customer's wallet and a job's escrow, in either direction."""

    customer_id: str
    escrow_id: str
    job_id: str
    amount_pence: int
    event_id: str


class PaymentProvider(Protocol):
    name: str
    supports_top_up: bool
    # Whether a payout is sent as soon as it is requested (else the provider reports back later).
    pays_out_at_once: bool

    async def top_up(
        self, session: AsyncSession, customer_id: str, amount_pence: int, *, event_id: str
    ) -> str: ...

    async def collect(self, session: AsyncSession, move: EscrowMove) -> str:
        """Move the customer's money into the escrow; the ledger transaction's id."""
        ...

    async def refund(self, session: AsyncSession, move: EscrowMove, *, kind: str) -> str:
        """Give money in the escrow back to the customer; the ledger transaction's id."""
        ...

    async def available(self, session: AsyncSession, customer_id: str) -> int: ...

    async def pay_out(
        self, session: AsyncSession, user_id: str, wallet: str, amount_pence: int, *, event_id: str
    ) -> str:
        """Move ``amount_pence`` out of the user's ``wallet`` (a wallet kind) to the provider's
        payout account (402 ``INSUFFICIENT_FUNDS`` when the wallet holds less); the ledger
        transaction's id."""
        ...


class SandboxWallet:
    """Each customer has a wallet balance, topped up at will (no real money), up to a cap."""

    name = "sandbox"
    supports_top_up = True
    pays_out_at_once = True

    def __init__(self, cap_pence: int) -> None:
        self.cap_pence = cap_pence

    async def top_up(
        self, session: AsyncSession, customer_id: str, amount_pence: int, *, event_id: str
    ) -> str:
        # One provider account per customer: the external side of their money. A single shared
        # row would make every top-up in the system wait on the same row lock.
        source = await ledger.account(session, ledger.PROVIDER, f"{self.name}:{customer_id}")
        wallet = await ledger.account(session, ledger.CUSTOMER_WALLET, customer_id, lock=True)
        if wallet.balance_pence + amount_pence > self.cap_pence:  # read under the row lock
            raise WalletCapExceeded(self.cap_pence, wallet.balance_pence)
        return await ledger.transfer(
            session,
            kind="top_up",
            source=source,
            destination=wallet,
            amount_pence=amount_pence,
            event_id=event_id,
        )

    async def collect(self, session: AsyncSession, move: EscrowMove) -> str:
        wallet = await ledger.account(session, ledger.CUSTOMER_WALLET, move.customer_id, lock=True)
        if wallet.balance_pence < move.amount_pence:
            raise InsufficientFunds(move.amount_pence, wallet.balance_pence)
        escrow = await ledger.account(session, ledger.ESCROW, move.escrow_id, lock=True)
        return await ledger.transfer(
            session,
            kind="escrow_fund",
            source=wallet,
            destination=escrow,
            amount_pence=move.amount_pence,
            job_id=move.job_id,
            event_id=move.event_id,
        )

    async def refund(self, session: AsyncSession, move: EscrowMove, *, kind: str) -> str:
        escrow = await ledger.account(session, ledger.ESCROW, move.escrow_id, lock=True)
        wallet = await ledger.account(session, ledger.CUSTOMER_WALLET, move.customer_id, lock=True)
        return await ledger.transfer(
            session,
            kind=kind,
            source=escrow,
            destination=wallet,
            amount_pence=move.amount_pence,
            job_id=move.job_id,
            event_id=move.event_id,
        )

    async def available(self, session: AsyncSession, customer_id: str) -> int:
        return await ledger.balance(session, ledger.CUSTOMER_WALLET, customer_id)

    async def pay_out(
        self, session: AsyncSession, user_id: str, wallet: str, amount_pence: int, *, event_id: str
    ) -> str:
        # The wallet is locked before its balance is read, so concurrent payouts queue on it and
        # each sees what the one before left.
        source = await ledger.account(session, wallet, user_id, lock=True)
        if source.balance_pence < amount_pence:
            raise PayoutShort(amount_pence, source.balance_pence)
        # One payout account per user (the bank side), like the top-up accounts.
        bank = await ledger.account(session, ledger.PROVIDER, f"payout:{user_id}")
        return await ledger.transfer(
            session,
            kind="payout",
            source=source,
            destination=bank,
            amount_pence=amount_pence,
            event_id=event_id,
        )


def provider_for(settings: Settings) -> PaymentProvider:
    if settings.payment_provider == "sandbox":
        return SandboxWallet(settings.sandbox_wallet_cap_pence)
    raise ValueError(f"unknown payment provider {settings.payment_provider!r}")
