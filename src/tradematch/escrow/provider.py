"""Payment providers. The built-in one is a sandbox wallet inside our own ledger.

Every operation takes the id of the event that causes it (drawn ahead with
``events.log.new_event_id``), which the ledger transaction records.

A provider answers two questions the escrow needs: move the customer's money into a job's escrow
(or say how much is available), and give money back to the customer. A card or bank provider
would implement the same interface and settle against its ``provider`` ledger account.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.core.config import Settings
from tradematch.core.errors import PaymentRequired
from tradematch.escrow import ledger
from tradematch.kit.money import pence_to_pounds


class InsufficientFunds(PaymentRequired):
    code = "ESCROW_INSUFFICIENT_BALANCE"
    message = "Insufficient funds"

    def __init__(self, required_pence: int, available_pence: int) -> None:
        super().__init__(
            required=pence_to_pounds(required_pence), available=pence_to_pounds(available_pence)
        )


class PaymentProvider(Protocol):
    name: str
    supports_top_up: bool

    async def top_up(
        self, session: AsyncSession, customer_id: str, amount_pence: int, *, event_id: str
    ) -> str: ...

    async def collect(
        self,
        session: AsyncSession,
        customer_id: str,
        escrow_id: str,
        amount_pence: int,
        *,
        job_id: str,
        event_id: str,
    ) -> str: ...

    async def refund(
        self,
        session: AsyncSession,
        customer_id: str,
        escrow_id: str,
        amount_pence: int,
        *,
        job_id: str,
        kind: str,
        event_id: str,
    ) -> str: ...

    async def available(self, session: AsyncSession, customer_id: str) -> int: ...


class SandboxWallet:
    """Each customer has a wallet balance, topped up at will (no real money)."""

    name = "sandbox"
    supports_top_up = True

    async def top_up(
        self, session: AsyncSession, customer_id: str, amount_pence: int, *, event_id: str
    ) -> str:
        # One provider account per customer: the external side of their money. A single shared
        # row would make every top-up in the system wait on the same row lock.
        source = await ledger.account(session, ledger.PROVIDER, f"{self.name}:{customer_id}")
        wallet = await ledger.account(session, ledger.CUSTOMER_WALLET, customer_id, lock=True)
        return await ledger.transfer(
            session,
            kind="top_up",
            source=source,
            destination=wallet,
            amount_pence=amount_pence,
            event_id=event_id,
        )

    async def collect(
        self,
        session: AsyncSession,
        customer_id: str,
        escrow_id: str,
        amount_pence: int,
        *,
        job_id: str,
        event_id: str,
    ) -> str:
        wallet = await ledger.account(session, ledger.CUSTOMER_WALLET, customer_id, lock=True)
        if wallet.balance_pence < amount_pence:
            raise InsufficientFunds(amount_pence, wallet.balance_pence)
        escrow = await ledger.account(session, ledger.ESCROW, escrow_id, lock=True)
        return await ledger.transfer(
            session,
            kind="escrow_fund",
            source=wallet,
            destination=escrow,
            amount_pence=amount_pence,
            job_id=job_id,
            event_id=event_id,
        )

    async def refund(
        self,
        session: AsyncSession,
        customer_id: str,
        escrow_id: str,
        amount_pence: int,
        *,
        job_id: str,
        kind: str,
        event_id: str,
    ) -> str:
        escrow = await ledger.account(session, ledger.ESCROW, escrow_id, lock=True)
        wallet = await ledger.account(session, ledger.CUSTOMER_WALLET, customer_id, lock=True)
        return await ledger.transfer(
            session,
            kind=kind,
            source=escrow,
            destination=wallet,
            amount_pence=amount_pence,
            job_id=job_id,
            event_id=event_id,
        )

    async def available(self, session: AsyncSession, customer_id: str) -> int:
        return await ledger.balance(session, ledger.CUSTOMER_WALLET, customer_id)


def provider_for(settings: Settings) -> PaymentProvider:
    if settings.payment_provider == "sandbox":
        return SandboxWallet()
    raise ValueError(f"unknown payment provider {settings.payment_provider!r}")
