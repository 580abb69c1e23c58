"""Escrow: opened on award, funded by the customer, released milestone by milestone."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.scopes import escrows_visible_to, jobs_owned_by
from tradematch.core.config import Settings
from tradematch.core.errors import Forbidden, InvalidStateTransition, NotFound
from tradematch.escrow import ledger
from tradematch.escrow.models import EscrowAccount, LedgerAccount, LedgerEntry, LedgerTransaction
from tradematch.escrow.provider import provider_for
from tradematch.escrow.schemas import EscrowFunded, EscrowView, ToppedUp, WalletEntry, WalletView
from tradematch.escrow.states import ESCROW
from tradematch.events.log import emit
from tradematch.events.types import EventType
from tradematch.jobs import repository as jobs
from tradematch.jobs.models import Job
from tradematch.kit.ids import new_id
from tradematch.quotes.models import Quote


async def open_for_award(session: AsyncSession, job: Job, quote: Quote) -> EscrowAccount:
    escrow = EscrowAccount(
        id=new_id("esc"),
        job_id=job.id,
        quote_id=quote.id,
        customer_id=job.customer_id,
        vendor_id=quote.vendor_id,
        status="pending",
        total_pence=quote.amount_pence,
        funded_pence=0,
        released_pence=0,
        refunded_pence=0,
    )
    session.add(escrow)
    await session.flush()
    return escrow


async def for_job(
    session: AsyncSession, job_id: str, *, lock: bool = False
) -> EscrowAccount | None:
    statement = select(EscrowAccount).where(EscrowAccount.job_id == job_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


def view(escrow: EscrowAccount) -> EscrowView:
    return EscrowView(
        escrow_id=escrow.id,
        job_id=escrow.job_id,
        status=escrow.status,
        total=escrow.total_pence,
        funded=escrow.funded_pence,
        released=escrow.released_pence,
        refunded=escrow.refunded_pence,
        balance=remaining(escrow),
        created_at=escrow.created_at,
        updated_at=escrow.updated_at,
    )


def remaining(escrow: EscrowAccount) -> int:
    return escrow.funded_pence - escrow.released_pence - escrow.refunded_pence


async def get_view(session: AsyncSession, actor: Actor, job_id: str) -> EscrowView:
    result = await session.execute(
        select(EscrowAccount).where(EscrowAccount.job_id == job_id, escrows_visible_to(actor))
    )
    escrow = result.scalar_one_or_none()
    if escrow is None:
        raise NotFound("Escrow not found")
    return view(escrow)


async def fund(
    session: AsyncSession, actor: Actor, settings: Settings, job_id: str
) -> EscrowFunded:
    job = await jobs.get(session, jobs_owned_by(actor), job_id, lock=True)
    escrow = await for_job(session, job_id, lock=True) if job is not None else None
    if job is None or escrow is None:
        raise NotFound("Escrow not found")
    escrow.status = ESCROW.transition(escrow.status, "fund")
    if job.status != "in_progress":
        # A disputed or settled job takes no money: nothing could ever release or refund it.
        raise InvalidStateTransition("job", job.status, "fund_escrow")
    await provider_for(settings).collect(
        session, job.customer_id, escrow.id, escrow.total_pence, job_id=job.id
    )
    escrow.funded_pence = escrow.total_pence
    await session.flush()
    event_id = emit(
        session,
        EventType.ESCROW_FUNDED,
        actor=actor,
        job_id=job.id,
        payload={"escrow_id": escrow.id, "funded_pence": escrow.funded_pence},
        audience=[escrow.customer_id, escrow.vendor_id],
        context={"customer_id": escrow.customer_id, "vendor_id": escrow.vendor_id},
    )
    return EscrowFunded(
        escrow_id=escrow.id,
        job_id=job.id,
        status=escrow.status,
        funded=escrow.funded_pence,
        event_id=event_id,
    )


async def release(
    session: AsyncSession,
    actor: Actor,
    escrow: EscrowAccount,
    amount_pence: int,
    *,
    kind: str = "milestone_release",
) -> str:
    """Move ``amount_pence`` from the locked escrow to the vendor's wallet; return the event id."""
    source = await ledger.account(session, ledger.ESCROW, escrow.id, lock=True)
    wallet = await ledger.account(session, ledger.VENDOR_WALLET, escrow.vendor_id, lock=True)
    transaction_id = await ledger.transfer(
        session,
        kind=kind,
        source=source,
        destination=wallet,
        amount_pence=amount_pence,
        job_id=escrow.job_id,
    )
    escrow.released_pence += amount_pence
    await session.flush()
    return emit(
        session,
        EventType.PAYMENT_RELEASED,
        actor=actor,
        job_id=escrow.job_id,
        payload={
            "escrow_id": escrow.id,
            "amount_pence": amount_pence,
            "transaction_id": transaction_id,
        },
        audience=[escrow.customer_id, escrow.vendor_id],
        context={"customer_id": escrow.customer_id, "vendor_id": escrow.vendor_id},
    )


async def refund(
    session: AsyncSession, settings: Settings, escrow: EscrowAccount, amount_pence: int
) -> str:
    transaction_id = await provider_for(settings).refund(
        session,
        escrow.customer_id,
        escrow.id,
        amount_pence,
        job_id=escrow.job_id,
        kind="dispute_refund",
    )
    escrow.refunded_pence += amount_pence
    await session.flush()
    return transaction_id


async def top_up(
    session: AsyncSession, actor: Actor, settings: Settings, amount_pence: int
) -> ToppedUp:
    provider = provider_for(settings)
    if not provider.supports_top_up:
        raise Forbidden("Top-ups are only available with the sandbox payment provider")
    transaction_id = await provider.top_up(session, actor.user_id, amount_pence)
    return ToppedUp(
        balance=await ledger.balance(session, ledger.CUSTOMER_WALLET, actor.user_id),
        transaction_id=transaction_id,
    )


async def wallet(session: AsyncSession, actor: Actor, *, limit: int = 50) -> WalletView:
    kind = ledger.VENDOR_WALLET if actor.is_vendor else ledger.CUSTOMER_WALLET
    account = await session.execute(
        select(LedgerAccount.id, LedgerAccount.balance_pence).where(
            LedgerAccount.kind == kind, LedgerAccount.owner_ref == actor.user_id
        )
    )
    found = account.first()
    if found is None:
        return WalletView(balance=0, entries=[])
    result = await session.execute(
        select(
            LedgerTransaction.id,
            LedgerTransaction.kind,
            LedgerEntry.amount_pence,
            LedgerTransaction.job_id,
            LedgerEntry.created_at,
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerEntry.account_id == found.id)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    return WalletView(
        balance=found.balance_pence,
        entries=[
            WalletEntry(transaction_id=t, kind=k, amount=a, job_id=j, created_at=c)
            for t, k, a, j, c in result.all()
        ],
    )
