"""Disputes: either party freezes the job and its escrow; an admin resolves them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.scopes import jobs_in_contract
from tradematch.core.config import Settings
from tradematch.core.errors import NotFound, ValidationFailed
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
from tradematch.escrow.models import EscrowAccount
from tradematch.escrow.states import ESCROW
from tradematch.events.log import emit
from tradematch.events.types import EventType
from tradematch.jobs import repository as jobs
from tradematch.jobs.models import Job
from tradematch.jobs.states import JOB
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.money import pence_to_pounds
from tradematch.leads.models import Lead
from tradematch.messaging import service as messaging

FROZEN_ESCROW_STATES = ("held", "partial_released")


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
    job = await jobs.get(session, jobs_in_contract(actor), job_id, lock=True)
    if job is None:
        raise NotFound("Job not found")
    job.status = JOB.transition(job.status, "dispute")
    escrow = await escrow_service.for_job(session, job.id, lock=True)
    if escrow is not None and escrow.status in FROZEN_ESCROW_STATES:
        escrow.status = ESCROW.transition(escrow.status, "dispute")
    dispute = Dispute(
        id=new_id("dsp"), job_id=job.id, raised_by=actor.user_id, reason=reason, status="open"
    )
    session.add(dispute)
    await session.flush()
    vendor_id = job.awarded_vendor_id
    assert vendor_id is not None
    await messaging.post_to_job(
        session, job.id, vendor_id, "A dispute was raised. The job and its escrow are on hold."
    )
    event_id = emit(
        session,
        EventType.DISPUTE_RAISED,
        actor=actor,
        job_id=job.id,
        payload={"dispute_id": dispute.id, "reason": reason},
        audience=[job.customer_id, vendor_id],
        context={"customer_id": job.customer_id, "vendor_id": vendor_id},
    )
    return DisputeRaised(
        dispute_id=dispute.id, job_id=job.id, status=dispute.status, event_id=event_id
    )


async def list_disputes(session: AsyncSession, status: str | None) -> DisputeList:
    statement = select(Dispute).order_by(Dispute.created_at.desc(), Dispute.id.desc()).limit(200)
    if status is not None:
        statement = statement.where(Dispute.status == status)
    return DisputeList(items=[view(d) for d in (await session.execute(statement)).scalars()])


async def resolve(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    dispute_id: str,
    decision: ResolveDispute,
) -> DisputeResolved:
    found = await session.get(Dispute, dispute_id)
    job = (
        await jobs.get(session, jobs_in_contract(actor), found.job_id, lock=True) if found else None
    )
    if found is None or job is None:
        raise NotFound("Dispute not found")
    dispute = (
        await session.execute(
            select(Dispute)
            .where(Dispute.id == dispute_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    dispute.status = DISPUTE.transition(dispute.status, "resolve")
    # Set with the status: the row's CHECK ties the two, and settling the money flushes.
    dispute.resolution = decision.resolution
    dispute.vendor_share_pence = decision.vendor_share
    dispute.resolution_note = decision.note
    dispute.resolved_by = actor.user_id
    dispute.resolved_at = clock.now()
    escrow = await escrow_service.for_job(session, job.id, lock=True)
    await _settle(session, actor, settings, job, escrow, decision)
    await session.flush()
    vendor_id = job.awarded_vendor_id
    assert vendor_id is not None
    event_id = emit(
        session,
        EventType.DISPUTE_RESOLVED,
        actor=actor,
        job_id=job.id,
        payload={
            "dispute_id": dispute.id,
            "resolution": decision.resolution,
            "vendor_share_pence": decision.vendor_share,
            "job_status": job.status,
            "escrow_status": escrow.status if escrow else None,
        },
        audience=[job.customer_id, vendor_id],
        context={
            "customer_id": job.customer_id,
            "vendor_id": vendor_id,
            "resolution": decision.resolution,
        },
    )
    if job.status == "completed":
        await messaging.archive_for_job_vendor(session, job.id, vendor_id)
        emit(
            session,
            EventType.JOB_COMPLETED,
            actor=actor,
            job_id=job.id,
            payload={"status": job.status},
            audience=[job.customer_id, vendor_id],
            context={"customer_id": job.customer_id, "vendor_id": vendor_id},
        )
    elif job.status == "cancelled":
        await messaging.lock_for_leads(session, await _winning_lead(session, job))
        emit(
            session,
            EventType.JOB_CANCELLED,
            actor=actor,
            job_id=job.id,
            payload={"status": job.status},
            audience=[job.customer_id, vendor_id],
            context={"customer_id": job.customer_id, "vendor_id": vendor_id},
        )
    return DisputeResolved(
        dispute_id=dispute.id,
        job_id=job.id,
        resolution=decision.resolution,
        job_status=job.status,
        escrow_status=escrow.status if escrow else None,
        event_id=event_id,
    )


async def _winning_lead(session: AsyncSession, job: Job) -> list[str]:
    result = await session.execute(
        select(Lead.id).where(Lead.job_id == job.id, Lead.vendor_id == job.awarded_vendor_id)
    )
    return list(result.scalars())


async def _settle(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    job: Job,
    escrow: EscrowAccount | None,
    decision: ResolveDispute,
) -> None:
    """Move the money and the states for one resolution (all in the caller's transaction)."""
    frozen = escrow is not None and escrow.status == "disputed"
    remaining = escrow_service.remaining(escrow) if escrow is not None and frozen else 0
    if decision.resolution == "resume":
        job.status = JOB.transition(job.status, "resume")
        if escrow is not None and frozen:
            resumed = "resume_partial" if escrow.released_pence > 0 else "resume_held"
            escrow.status = ESCROW.transition(escrow.status, resumed)
        return
    if decision.resolution == "split" and (decision.vendor_share or 0) > remaining:
        raise ValidationFailed(
            "vendor_share exceeds what is left in escrow", available=pence_to_pounds(remaining)
        )
    to_vendor = {
        "release_to_vendor": remaining,
        "refund_customer": 0,
        "split": decision.vendor_share or 0,
    }[decision.resolution]
    to_customer = remaining - to_vendor
    if escrow is not None and frozen:
        if to_vendor:
            await escrow_service.release(session, actor, escrow, to_vendor, kind="dispute_release")
        if to_customer:
            await escrow_service.refund(session, settings, escrow, to_customer)
        if escrow.refunded_pence > 0:
            escrow.status = ESCROW.transition(escrow.status, "resolve_refunded")
        elif escrow.released_pence > 0:
            escrow.status = ESCROW.transition(escrow.status, "resolve_released")
    if decision.resolution == "refund_customer":
        job.status = JOB.transition(job.status, "resolve_cancelled")
        job.cancelled_at = clock.now()
    else:
        job.status = JOB.transition(job.status, "resolve_completed")
        job.completed_at = clock.now()
