"""Milestones: submitted with evidence by the vendor, approved (and paid) by the customer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import SYSTEM, Actor
from tradematch.authz.scopes import jobs_in_contract
from tradematch.core.config import Settings
from tradematch.core.errors import InvalidStateTransition, NotFound
from tradematch.escrow import service as escrow_service
from tradematch.escrow.models import EscrowAccount
from tradematch.escrow.states import ESCROW
from tradematch.events.service import emit
from tradematch.events.types import EventType
from tradematch.jobs import repository as jobs
from tradematch.jobs.models import Job
from tradematch.jobs.states import JOB
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.messaging import service as messaging
from tradematch.milestones import repository
from tradematch.milestones.models import Milestone
from tradematch.milestones.schemas import (
    Evidence,
    EvidenceView,
    MilestoneChanged,
    MilestoneList,
    MilestoneView,
)
from tradematch.milestones.states import MILESTONE
from tradematch.quotes.models import Quote
from tradematch.uploads import service as uploads
from tradematch.uploads.links import UploadLinks
from tradematch.uploads.schemas import UploadView

SUBMITTED_TEXT = "Vendor submitted milestone for approval"
APPROVED_TEXT = "Milestone approved. Payment releasing."
CHANGES_TEXT = "Customer asked for changes: {reason}"
COMPLETED_TEXT = "All milestones released. Job completed."
FUNDED_STATES = ("held", "partial_released")


async def create_from_plan(
    session: AsyncSession, job: Job, quote: Quote, escrow: EscrowAccount
) -> list[Milestone]:
    plan = quote.milestone_plan or [
        {"title": "Complete the job", "amount_pence": quote.amount_pence}
    ]
    milestones = [
        Milestone(
            id=new_id("ms"),
            job_id=job.id,
            escrow_id=escrow.id,
            quote_id=quote.id,
            position=index,
            title=item["title"],
            amount_pence=int(item["amount_pence"]),
            status="pending",
        )
        for index, item in enumerate(plan, start=1)
    ]
    session.add_all(milestones)
    await session.flush()
    return milestones


def _evidence(milestone: Milestone, attached: list[UploadView]) -> EvidenceView | None:
    """The current submission's evidence; uploads of earlier submissions stay attached (and
    named in their MILESTONE_SUBMITTED events) but are not part of it."""
    if milestone.evidence is None:
        return None
    ids = list(milestone.evidence.get("photo_upload_ids", []))
    by_id = {upload.upload_id: upload for upload in attached}
    return EvidenceView(
        description=milestone.evidence.get("description", ""),
        photos=list(milestone.evidence.get("photos", [])),
        photo_upload_ids=ids,
        photo_uploads=[by_id[i] for i in ids if i in by_id],
    )


async def views(
    session: AsyncSession, actor: Actor, links: UploadLinks, milestones: list[Milestone]
) -> list[MilestoneView]:
    attached = await uploads.views_of(
        session, links, actor, "milestone", [m.id for m in milestones if m.evidence]
    )
    return [view(m, attached.get(m.id, [])) for m in milestones]


def view(milestone: Milestone, attached: list[UploadView]) -> MilestoneView:
    return MilestoneView(
        milestone_id=milestone.id,
        job_id=milestone.job_id,
        position=milestone.position,
        title=milestone.title,
        amount=milestone.amount_pence,
        status=milestone.status,
        evidence=_evidence(milestone, attached),
        changes_reason=milestone.changes_reason,
        submitted_at=milestone.submitted_at,
        approved_at=milestone.approved_at,
        released_at=milestone.released_at,
    )


async def list_for_job(
    session: AsyncSession, actor: Actor, links: UploadLinks, job_id: str
) -> MilestoneList:
    job = await jobs.get(session, jobs_in_contract(actor), job_id)
    if job is None:
        raise NotFound("Job not found")
    milestones = await repository.for_job(session, job.id)
    return MilestoneList(items=await views(session, actor, links, milestones))


async def _locked(
    session: AsyncSession, actor: Actor, milestone_id: str
) -> tuple[Milestone, Job, EscrowAccount]:
    """Lock in the one order used everywhere: job, then milestone, then escrow."""
    found = await repository.get(session, milestone_id)
    job = (
        await jobs.get(session, jobs_in_contract(actor), found.job_id, lock=True) if found else None
    )
    if found is None or job is None:
        raise NotFound("Milestone not found")
    milestone = await repository.get(session, milestone_id, lock=True)
    escrow = await escrow_service.for_job(session, job.id, lock=True)
    assert milestone is not None and escrow is not None
    return milestone, job, escrow


def _require_funded(escrow: EscrowAccount, action: str) -> None:
    if escrow.status not in FUNDED_STATES:
        raise InvalidStateTransition("escrow", escrow.status, action)


async def submit(
    session: AsyncSession, actor: Actor, milestone_id: str, evidence: Evidence
) -> MilestoneChanged:
    milestone, job, escrow = await _locked(session, actor, milestone_id)
    _require_funded(escrow, "submit_milestone")
    milestone.status = MILESTONE.transition(milestone.status, "submit")
    milestone.evidence = evidence.model_dump(
        mode="json",
        exclude={"idempotency_key"}
        | (set() if evidence.photo_upload_ids else {"photo_upload_ids"}),
    )
    milestone.submitted_at = clock.now()
    milestone.changes_reason = None
    await session.flush()
    await uploads.attach(
        session,
        actor,
        evidence.photo_upload_ids,
        parent="milestone",
        parent_id=milestone.id,
        images_only=True,
    )
    await messaging.post_to_job(session, job.id, escrow.vendor_id, SUBMITTED_TEXT)
    event_id = emit(
        session,
        EventType.MILESTONE_SUBMITTED,
        actor=actor,
        job_id=job.id,
        payload={
            "milestone_id": milestone.id,
            "position": milestone.position,
            "evidence": milestone.evidence,
        },
        audience=[job.customer_id, escrow.vendor_id],
        context={
            "customer_id": job.customer_id,
            "vendor_id": escrow.vendor_id,
            "title": milestone.title,
        },
    )
    return MilestoneChanged(
        milestone_id=milestone.id,
        status=milestone.status,
        event_id=event_id,
        message=SUBMITTED_TEXT,
    )


async def request_changes(
    session: AsyncSession, actor: Actor, milestone_id: str, reason: str
) -> MilestoneChanged:
    milestone, job, escrow = await _locked(session, actor, milestone_id)
    _require_funded(escrow, "request_changes")
    milestone.status = MILESTONE.transition(milestone.status, "request_changes")
    milestone.changes_reason = reason
    await session.flush()
    await messaging.post_to_job(
        session, job.id, escrow.vendor_id, CHANGES_TEXT.format(reason=reason)
    )
    event_id = emit(
        session,
        EventType.MILESTONE_CHANGES_REQUESTED,
        actor=actor,
        job_id=job.id,
        payload={"milestone_id": milestone.id, "reason": reason},
        audience=[job.customer_id, escrow.vendor_id],
        context={"customer_id": job.customer_id, "vendor_id": escrow.vendor_id, "reason": reason},
    )
    return MilestoneChanged(milestone_id=milestone.id, status=milestone.status, event_id=event_id)


async def approve(session: AsyncSession, actor: Actor, milestone_id: str) -> MilestoneChanged:
    milestone, job, escrow = await _locked(session, actor, milestone_id)
    event_id = await _approve_and_release(session, actor, job, milestone, escrow)
    return MilestoneChanged(
        milestone_id=milestone.id, status=milestone.status, event_id=event_id, message=APPROVED_TEXT
    )


async def _approve_and_release(
    session: AsyncSession, actor: Actor, job: Job, milestone: Milestone, escrow: EscrowAccount
) -> str:
    """Approve, pay the milestone out of escrow, and complete the job with the last one."""
    _require_funded(escrow, "approve_milestone")
    now = clock.now()
    milestone.status = MILESTONE.transition(milestone.status, "approve")
    milestone.approved_at = now
    await session.flush()
    await messaging.post_to_job(session, job.id, escrow.vendor_id, APPROVED_TEXT)
    event_id = emit(
        session,
        EventType.MILESTONE_APPROVED,
        actor=actor,
        job_id=job.id,
        payload={
            "milestone_id": milestone.id,
            "amount_pence": milestone.amount_pence,
            "automatic": actor == SYSTEM,
        },
        audience=[job.customer_id, escrow.vendor_id],
        context={"customer_id": job.customer_id, "vendor_id": escrow.vendor_id},
    )
    milestone.status = MILESTONE.transition(milestone.status, "release")
    milestone.released_at = now
    await escrow_service.release(session, actor, escrow, milestone.amount_pence)
    done = escrow.released_pence == escrow.funded_pence
    escrow.status = ESCROW.transition(escrow.status, "release_all" if done else "release_part")
    await session.flush()
    if await repository.all_released(session, job.id):
        job.status = JOB.transition(job.status, "complete")
        job.completed_at = now
        await session.flush()
        await messaging.post_to_job(session, job.id, escrow.vendor_id, COMPLETED_TEXT)
        await messaging.archive_for_job_vendor(session, job.id, escrow.vendor_id)
        emit(
            session,
            EventType.JOB_COMPLETED,
            actor=actor,
            job_id=job.id,
            payload={"status": job.status},
            audience=[job.customer_id, escrow.vendor_id],
            context={"customer_id": job.customer_id, "vendor_id": escrow.vendor_id},
        )
    return event_id


async def auto_approve_due(session: AsyncSession, settings: Settings, *, batch: int = 20) -> int:
    """Approve milestones submitted and left unanswered for the configured days (scheduler).

    Jobs locked by someone else are skipped and retried on the next run.
    """
    cutoff = clock.now() - timedelta(days=settings.milestone_auto_approve_days)
    approved = 0
    due = await repository.due_for_auto_approval(
        session, cutoff, batch, escrow_states=FUNDED_STATES
    )
    for milestone_id, job_id in due:
        job = await jobs.get(session, jobs_in_contract(SYSTEM), job_id, lock=True, skip_locked=True)
        if job is None:
            continue
        milestone = await repository.get(session, milestone_id, lock=True)
        escrow = await escrow_service.for_job(session, job_id, lock=True)
        if milestone is None or escrow is None or milestone.status != "submitted":
            continue
        if (
            milestone.submitted_at is None
            or milestone.submitted_at > cutoff
            or escrow.status not in FUNDED_STATES
        ):
            continue
        await _approve_and_release(session, SYSTEM, job, milestone, escrow)
        approved += 1
    return approved
