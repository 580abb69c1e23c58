"""Disputes: either party freezes the job and its escrow; an admin resolves them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import disputes_visible_to, jobs_in_contract
from tradematch.core.config import Settings
from tradematch.core.errors import InvalidStateTransition, ValidationFailed
from tradematch.disputes import repository
from tradematch.disputes.models import Dispute
from tradematch.disputes.schemas import (
    DisputeList,
    DisputeRaised,
    DisputeResolved,
    DisputeView,
    ResolveDispute,
)
from tradematch.disputes.states import DISPUTE
from tradematch.escrow import service as escrow_service
from tradematch.events.types import EventType
from tradematch.jobs import lifecycle
from tradematch.jobs import service as jobs
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.money import pence_to_pounds
from tradematch.leads import service as leads
from tradematch.messaging import service as messaging
from tradematch.milestones import service as milestones

RAISED_TEXT = "A dispute was raised. The job and its escrow are on hold."


def view(dispute: Dispute) -> DisputeView:
    return DisputeView(
        dispute_id=dispute.id,
        job_id=dispute.job_id,
        raised_by=dispute.raised_by,
        reason=dispute.reason,
        status=dispute.status,
        resolution=dispute.resolution,
        vendor_share=dispute.vendor_share_pence,
        resolution_note=dispute.resolution_note,
        created_at=dispute.created_at,
        resolved_at=dispute.resolved_at,
    )


async def raise_dispute(
    session: AsyncSession, actor: Actor, job_id: str, reason: str
) -> DisputeRaised:
    require(actor, Role.CUSTOMER, Role.VENDOR)
    job = await jobs.lock(session, jobs_in_contract(actor), job_id)
    jobs.change(job, "dispute", clock.now())
    escrow = await escrow_service.lock_for_job(session, actor, job)
    if escrow is not None:
        escrow_service.freeze(escrow)
    dispute = await repository.add(
        session,
        Dispute(
            id=new_id("dsp"), job_id=job.id, raised_by=actor.user_id, reason=reason, status="open"
        ),
    )
    vendor_id = job.awarded_vendor_id
    assert vendor_id is not None
    await messaging.post_to_job(session, actor, job.id, vendor_id, RAISED_TEXT)
    payload = {"dispute_id": dispute.id, "reason": reason}
    event_id = jobs.tell_parties(session, EventType.DISPUTE_RAISED, actor, job, payload)
    return DisputeRaised(
        dispute_id=dispute.id, job_id=job.id, status=dispute.status, event_id=event_id
    )


async def list_disputes(session: AsyncSession, actor: Actor, status: str | None) -> DisputeList:
    require(actor, Role.ADMIN)
    found = await repository.newest(session, disputes_visible_to(actor), status)
    return DisputeList(items=[view(d) for d in found])


async def resolve(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    dispute_id: str,
    decision: ResolveDispute,
) -> DisputeResolved:
    """Release the frozen money to the vendor, refund the customer, split it, or resume."""
    require(actor, Role.ADMIN)
    job, dispute = await jobs.lock_with(
        session,
        jobs_in_contract(actor),
        lambda lock: repository.get(session, disputes_visible_to(actor), dispute_id, lock=lock),
        job_of=lambda dispute: dispute.job_id,
        missing="Dispute not found",
    )
    dispute.status = DISPUTE.transition(dispute.status, "resolve")
    # Set with the status: the row's CHECK ties the two, and settling the money flushes.
    dispute.resolution = decision.resolution
    dispute.vendor_share_pence = decision.vendor_share
    dispute.resolution_note = decision.note
    dispute.resolved_by = actor.user_id
    dispute.resolved_at = clock.now()
    escrow = await escrow_service.lock_for_job(session, actor, job)
    if decision.resolution == "resume":
        jobs.change(job, "resume", clock.now())
        if escrow is not None:
            escrow_service.unfreeze(escrow)
        # Time spent frozen does not count towards auto-approval (docs/decisions.md).
        await milestones.restart_reviews(session, job)
    else:
        if decision.resolution != "refund_customer" and not escrow_service.holds_money(escrow):
            # Nothing is held (the escrow was never funded): there is nothing to release.
            state = escrow.status if escrow is not None else "missing"
            raise InvalidStateTransition("escrow", state, decision.resolution)
        left = escrow_service.remaining(escrow) if escrow_service.is_frozen(escrow) else 0
        if decision.resolution == "split" and (decision.vendor_share or 0) > left:
            raise ValidationFailed(
                "vendor_share exceeds what is left in escrow", available=pence_to_pounds(left)
            )
        to_vendor = {
            "release_to_vendor": left,
            "refund_customer": 0,
            "split": decision.vendor_share or 0,
        }[decision.resolution]
        if escrow is not None:
            await escrow_service.settle(session, actor, settings, escrow, to_vendor=to_vendor)
        cancelled = decision.resolution == "refund_customer"
        jobs.change(job, "resolve_cancelled" if cancelled else "resolve_completed", clock.now())
        await milestones.end_unpaid(session, job, cancelled=cancelled)
    await session.flush()
    resolved = {
        "dispute_id": dispute.id,
        "resolution": decision.resolution,
        "vendor_share": (
            None if decision.vendor_share is None else pence_to_pounds(decision.vendor_share)
        ),
        "job_status": job.status,
        "escrow_status": escrow.status if escrow else None,
    }
    event_id = jobs.tell_parties(
        session, EventType.DISPUTE_RESOLVED, actor, job, resolved, resolution=decision.resolution
    )
    if job.status == "completed":
        await lifecycle.announce_completed(session, actor, job)
    elif job.status == "cancelled":
        await messaging.lock_for_leads(session, await leads.winning_lead_ids(session, job))
        jobs.tell_parties(session, EventType.JOB_CANCELLED, actor, job, {"status": job.status})
    return DisputeResolved(
        dispute_id=dispute.id,
        job_id=job.id,
        resolution=decision.resolution,
        job_status=job.status,
        escrow_status=escrow.status if escrow else None,
        event_id=event_id,
    )
