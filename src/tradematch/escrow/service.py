"""Escrow: opened on award, funded by the customer, released milestone by milestone, frozen by a
dispute and settled by its resolution; and each user's wallet."""

from __future__ import annotations

from typing import Any, TypeGuard, Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import escrows_visible_to, jobs_owned_by
from tradematch.core.config import Settings
from tradematch.core.errors import Forbidden, InvalidStateTransition, NotFound
from tradematch.escrow import ledger, repository
from tradematch.escrow.models import EscrowAccount, Payout
from tradematch.escrow.provider import EscrowMove, provider_for
from tradematch.escrow.schemas import (
    EscrowAdminView,
    EscrowFunded,
    EscrowView,
    PayoutAdminList,
    PayoutAdminView,
    PayoutList,
    PayoutMade,
    PayoutView,
    ToppedUp,
    WalletEntry,
    WalletView,
)
from tradematch.escrow.states import ESCROW, PAYOUT
from tradematch.events.audience import JobParties
from tradematch.events.context import Details
from tradematch.events.log import emit, new_event_id
from tradematch.events.types import EventType
from tradematch.jobs import service as jobs
from tradematch.jobs.models import Job
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.money import money_text, pence_to_pounds
from tradematch.quotes.models import Quote

FUNDED_STATES = ("held", "partial_released")  # money in escrow that milestones may draw on


async def open_for_award(session: AsyncSession, job: Job, quote: Quote) -> EscrowAccount:
    return await repository.add(
        session,
        EscrowAccount(
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
        ),
    )


async def lock_for_job(session: AsyncSession, actor: Actor, job: Job) -> EscrowAccount | None:
    """The (locked) job's escrow, locked in turn; None before the award."""
    return await repository.for_job(session, escrows_visible_to(actor), job.id, lock=True)


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
    escrow = await repository.for_job(session, escrows_visible_to(actor), job_id)
    if escrow is None:
        raise NotFound("Escrow not found")
    return view(escrow)


async def get_for_admin(session: AsyncSession, actor: Actor, job_id: str) -> EscrowAdminView:
    require(actor, Role.ADMIN)
    escrow = await repository.for_job(session, escrows_visible_to(actor), job_id)
    if escrow is None:
        raise NotFound("Escrow not found")
    return EscrowAdminView(
        **dict(view(escrow)),
        customer_id=escrow.customer_id,
        vendor_id=escrow.vendor_id,
        quote_id=escrow.quote_id,
    )


async def fund(
    session: AsyncSession, actor: Actor, settings: Settings, job_id: str
) -> EscrowFunded:
    require(actor, Role.CUSTOMER)
    job = await jobs.find(session, jobs_owned_by(actor), job_id, lock=True)
    escrow = await lock_for_job(session, actor, job) if job is not None else None
    if job is None or escrow is None:
        raise NotFound("Escrow not found")
    escrow.status = ESCROW.transition(escrow.status, "fund")
    if job.status != "in_progress":
        # A disputed or settled job takes no money: nothing could ever release or refund it.
        raise InvalidStateTransition("job", job.status, "fund_escrow")
    event_id = new_event_id()
    transaction_id = await provider_for(settings).collect(
        session, EscrowMove(job.customer_id, escrow.id, job.id, escrow.total_pence, event_id)
    )
    escrow.funded_pence = escrow.total_pence
    await session.flush()
    funded = {
        "funded": pence_to_pounds(escrow.funded_pence),
        **money_moved(transaction_id, escrow.total_pence),
    }
    _money_event(session, EventType.ESCROW_FUNDED, actor, escrow, event_id, funded)
    return EscrowFunded(
        escrow_id=escrow.id,
        job_id=job.id,
        status=escrow.status,
        funded=escrow.funded_pence,
        event_id=event_id,
    )


async def release(
    session: AsyncSession,
    by: Actor,
    escrow: EscrowAccount,
    amount_pence: int,
    *,
    kind: str = "milestone_release",
) -> str:
    """Move ``amount_pence`` from the locked escrow to the vendor's wallet (``by`` whoever
    approved or ruled); return the event id."""
    source = await ledger.account(session, ledger.ESCROW, escrow.id, lock=True)
    wallet = await ledger.account(session, ledger.VENDOR_WALLET, escrow.vendor_id, lock=True)
    event_id = new_event_id()
    transaction_id = await ledger.transfer(
        session,
        kind=kind,
        source=source,
        destination=wallet,
        amount_pence=amount_pence,
        job_id=escrow.job_id,
        event_id=event_id,
    )
    escrow.released_pence += amount_pence
    await session.flush()
    moved = money_moved(transaction_id, amount_pence)
    released = EventType.PAYMENT_RELEASED
    return _money_event(
        session, released, by, escrow, event_id, moved, amount_text=money_text(amount_pence)
    )


def _money_event(
    session: AsyncSession,
    type: EventType,
    by: Actor,
    escrow: EscrowAccount,
    event_id: str,
    payload: dict[str, Any],
    **details: Unpack[Details],
) -> str:
    """An event of money moving in or out of the escrow, told to both parties: the escrow's id,
    then ``payload``."""
    parties = JobParties(escrow.job_id, escrow.customer_id, escrow.vendor_id)
    payload = {"escrow_id": escrow.id, **payload}
    return parties.emit(session, type, by, payload, event_id=event_id, **details)


def money_moved(transaction_id: str, amount_pence: int) -> dict[str, Any]:
    """What a money event's payload records of the ledger transaction it caused: its id and
    amount (pounds, as the API speaks); ``tradematch events verify`` checks them against the
    ledger."""
    return {"transaction_id": transaction_id, "amount": pence_to_pounds(amount_pence)}


def require_funded(escrow: EscrowAccount, action: str) -> None:
    """409 unless the escrow holds money a milestone may draw on (not pending, frozen or done)."""
    if escrow.status not in FUNDED_STATES:
        raise InvalidStateTransition("escrow", escrow.status, action)


async def pay_milestone(
    session: AsyncSession, by: Actor, escrow: EscrowAccount, amount_pence: int
) -> None:
    """Release a milestone's amount; the escrow is released in full with its last one."""
    await release(session, by, escrow, amount_pence)
    done = escrow.released_pence == escrow.funded_pence
    escrow.status = ESCROW.transition(escrow.status, "release_all" if done else "release_part")


def freeze(escrow: EscrowAccount) -> None:
    """A dispute freezes funded money until an admin rules (a pending escrow has none)."""
    if escrow.status in FUNDED_STATES:
        escrow.status = ESCROW.transition(escrow.status, "dispute")


def is_frozen(escrow: EscrowAccount | None) -> TypeGuard[EscrowAccount]:
    return escrow is not None and escrow.status == "disputed"


def unfreeze(escrow: EscrowAccount) -> None:
    """A dispute ruled "resume": the frozen escrow is as it was before."""
    if is_frozen(escrow):
        resumed = "resume_partial" if escrow.released_pence > 0 else "resume_held"
        escrow.status = ESCROW.transition(escrow.status, resumed)


def holds_money(escrow: EscrowAccount | None) -> TypeGuard[EscrowAccount]:
    """A frozen escrow with money left in it: what a ruling can release or refund."""
    return is_frozen(escrow) and remaining(escrow) > 0


async def settle(
    session: AsyncSession,
    by: Actor,
    settings: Settings,
    escrow: EscrowAccount,
    *,
    to_vendor: int,
) -> None:
    """A dispute ruled and ended the job: what is left in the frozen escrow goes ``to_vendor``
    to the vendor and the rest back to the customer, and the escrow ends in the state that says
    what happened to its money. An escrow never funded is cancelled."""
    if escrow.status == "pending":
        escrow.status = ESCROW.transition(escrow.status, "cancel")
        return
    if not is_frozen(escrow):
        return
    to_customer = remaining(escrow) - to_vendor
    if to_vendor:
        await release(session, by, escrow, to_vendor, kind="dispute_release")
    if to_customer:
        event_id = new_event_id()
        move = EscrowMove(escrow.customer_id, escrow.id, escrow.job_id, to_customer, event_id)
        transaction_id = await provider_for(settings).refund(session, move, kind="dispute_refund")
        escrow.refunded_pence += to_customer
        await session.flush()
        moved = money_moved(transaction_id, to_customer)
        refunded = EventType.PAYMENT_REFUNDED
        _money_event(
            session, refunded, by, escrow, event_id, moved, amount_text=money_text(to_customer)
        )
    if escrow.refunded_pence > 0 and escrow.released_pence > 0:
        escrow.status = ESCROW.transition(escrow.status, "resolve_settled")
    elif escrow.refunded_pence > 0:
        escrow.status = ESCROW.transition(escrow.status, "resolve_refunded")
    else:
        escrow.status = ESCROW.transition(escrow.status, "resolve_released")


async def top_up(
    session: AsyncSession, actor: Actor, settings: Settings, amount_pence: int
) -> ToppedUp:
    require(actor, Role.CUSTOMER)
    provider = provider_for(settings)
    if not provider.supports_top_up:
        raise Forbidden("Top-ups are only available with the sandbox payment provider")
    event_id = new_event_id()
    transaction_id = await provider.top_up(session, actor.user_id, amount_pence, event_id=event_id)
    balance = await ledger.balance(session, ledger.CUSTOMER_WALLET, actor.user_id)
    # A top-up belongs to no job: its event joins the chain of job-less events
    # (docs/security.md), seen by the customer alone (and admins).
    emit(
        session,
        EventType.WALLET_TOPPED_UP,
        actor=actor,
        job_id=None,
        payload={**money_moved(transaction_id, amount_pence), "balance": pence_to_pounds(balance)},
        audience=[actor.user_id],
        event_id=event_id,
    )
    return ToppedUp(balance=balance, transaction_id=transaction_id, event_id=event_id)


async def wallet(session: AsyncSession, actor: Actor, *, limit: int = 50) -> WalletView:
    """The actor's own wallet: a customer's sandbox balance, or a vendor's released earnings."""
    require(actor, Role.CUSTOMER, Role.VENDOR)
    kind = _wallet_kind(actor)
    found = await repository.find_account(session, kind, actor.user_id)
    if found is None:
        return WalletView(balance=0, entries=[])
    entries = await repository.entries_of(session, found.id, limit=limit)
    return WalletView(
        balance=found.balance_pence,
        entries=[
            WalletEntry(transaction_id=t, kind=k, amount=a, job_id=j, created_at=c)
            for t, k, a, j, c in entries
        ],
    )


def _wallet_kind(actor: Actor) -> str:
    return ledger.VENDOR_WALLET if actor.is_vendor else ledger.CUSTOMER_WALLET


def payout_view(payout: Payout) -> PayoutView:
    return PayoutView(
        payout_id=payout.id,
        amount=payout.amount_pence,
        status=payout.status,
        wallet="vendor_wallet" if payout.wallet_kind == ledger.VENDOR_WALLET else "customer_wallet",
        provider=payout.provider,
        transaction_id=payout.transaction_id,
        created_at=payout.created_at,
        sent_at=payout.sent_at,
    )


async def pay_out(
    session: AsyncSession, actor: Actor, settings: Settings, amount_pence: int
) -> PayoutMade:
    """Send money from the actor's wallet (a customer's sandbox balance or a vendor's earnings)
    to their bank through the payment provider: one ledger transaction from the wallet to the
    provider's payout account, 402 ``INSUFFICIENT_FUNDS`` (and no change) when it holds less."""
    require(actor, Role.CUSTOMER, Role.VENDOR)
    provider = provider_for(settings)
    kind = _wallet_kind(actor)
    payout_id = new_id("pay")
    event_id = new_event_id()
    transaction_id = await provider.pay_out(
        session, actor.user_id, kind, amount_pence, event_id=event_id
    )
    emit(
        session,
        EventType.PAYOUT_SENT,
        actor=actor,
        job_id=None,
        payload={
            "payout_id": payout_id,
            "provider": provider.name,
            **money_moved(transaction_id, amount_pence),
        },
        audience=[actor.user_id],
        context={"recipient_id": actor.user_id, "amount_text": money_text(amount_pence)},
        event_id=event_id,
    )
    payout = await repository.add_payout(
        session,
        Payout(
            id=payout_id,
            user_id=actor.user_id,
            wallet_kind=kind,
            amount_pence=amount_pence,
            status="requested",
            provider=provider.name,
            transaction_id=transaction_id,
        ),
    )
    if provider.pays_out_at_once:
        payout.status = PAYOUT.transition(payout.status, "send")
        payout.sent_at = clock.now()
        await session.flush()
    return PayoutMade(
        **dict(payout_view(payout)),
        balance=await ledger.balance(session, kind, actor.user_id),
        event_id=event_id,
    )


async def payouts(session: AsyncSession, actor: Actor, *, limit: int = 50) -> PayoutList:
    """The actor's own payouts, newest first."""
    require(actor, Role.CUSTOMER, Role.VENDOR)
    found = await repository.payouts_of(session, actor.user_id, limit=limit)
    return PayoutList(items=[payout_view(p) for p in found])


async def every_payout(session: AsyncSession, actor: Actor, *, limit: int = 100) -> PayoutAdminList:
    """Everyone's payouts, newest first (admins)."""
    require(actor, Role.ADMIN)
    found = await repository.every_payout(session, limit=limit)
    return PayoutAdminList(
        items=[PayoutAdminView(**dict(payout_view(p)), user_id=p.user_id) for p in found]
    )
