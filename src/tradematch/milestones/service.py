"""Milestones: submitted with evidence by the vendor, approved (and paid) by the customer, or by
the platform after the customer left them unanswered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import SYSTEM, Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import jobs_in_contract, milestones_in_contract
from tradematch.core.config import Settings
from tradematch.core.errors import NotFound
from tradematch.escrow import service as escrow_service
from tradematch.escrow.models import EscrowAccount
from tradematch.events.context import Details
from tradematch.events.types import EventType
from tradematch.jobs import lifecycle
from tradematch.jobs import service as jobs
from tradematch.jobs.models import Job
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.money import pence_to_pounds
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
from tradematch.quotes.models import WHOLE_JOB, MilestonePlanEntry, Quote
from tradematch.uploads import service as uploads
from tradematch.uploads.links import UploadLinks
from tradematch.uploads.schemas import UploadView

SUBMITTED_TEXT = "Vendor submitted milestone for approval"
APPROVED_TEXT = "Milestone approved. Payment releasing."
CHANGES_TEXT = "Customer asked for changes: {reason}"
COMPLETED_TEXT = "All milestones released. Job completed."


async def create_from_plan(
    session: AsyncSession, job: Job, quote: Quote, escrow: EscrowAccount
) -> list[Milestone]:
    """The awarded quote's milestone plan, as milestones paid from ``escrow``."""
    plan = quote.milestone_plan or [
        MilestonePlanEntry(title=WHOLE_JOB, amount_pence=quote.amount_pence)
    ]
    return await repository.add_all(
        session,
        [
            Milestone(
                id=new_id("ms"),
                job_id=job.id,
                escrow_id=escrow.id,
                quote_id=quote.id,
                position=index,
                title=entry["title"],
                amount_pence=int(entry["amount_pence"]),
                status="pending",
            )
            for index, entry in enumerate(plan, start=1)
        ],
    )


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
    job = await jobs.find(session, jobs_in_contract(actor), job_id)
    if job is None:
        raise NotFound("Job not found")
    found = await repository.for_job(session, milestones_in_contract(actor), job.id)
    attached = await uploads.views_of(
        session, actor, links, "milestone", [m.id for m in found if m.evidence]
    )
    return MilestoneList(items=[view(m, attached.get(m.id, [])) for m in found])


async def _locked(
    session: AsyncSession, actor: Actor, milestone_id: str
) -> tuple[Milestone, Job, EscrowAccount]:
    """Lock in the one order used everywhere: job, then milestone, then escrow."""
    job, milestone = await jobs.lock_with(
        session,
        jobs_in_contract(actor),
        lambda lock: repository.get(
            session, milestones_in_contract(actor), milestone_id, lock=lock
        ),
        job_of=lambda milestone: milestone.job_id,
        missing="Milestone not found",
    )
    escrow = await escrow_service.lock_for_job(session, actor, job)
    assert escrow is not None
    return milestone, job, escrow


# The name under which each milestone action is refused (409) when the escrow holds no money a
# milestone may draw on.
_ESCROW_ACTION = {
    "submit": "submit_milestone",
    "request_changes": "request_changes",
    "approve": "approve_milestone",
}


def _advance(milestone: Milestone, escrow: EscrowAccount, action: str) -> None:
    """``action`` on the (locked) milestone, which needs its (locked) escrow funded."""
    escrow_service.require_funded(escrow, _ESCROW_ACTION[action])
    milestone.status = MILESTONE.transition(milestone.status, action)


async def _take(
    session: AsyncSession, actor: Actor, role: Role, milestone_id: str, action: str
) -> tuple[Milestone, Job, EscrowAccount]:
    """``action`` by ``role`` on the milestone, locked with its job and escrow."""
    require(actor, role)
    milestone, job, escrow = await _locked(session, actor, milestone_id)
    _advance(milestone, escrow, action)
    return milestone, job, escrow


async def _tell_both(
    session: AsyncSession,
    actor: Actor,
    job: Job,
    escrow: EscrowAccount,
    text: str,
    event: EventType,
    payload: dict[str, Any],
    **details: Unpack[Details],
) -> str:
    """After a milestone changed: a line in the parties' conversation, and the event."""
    await session.flush()
    await messaging.post_to_job(session, actor, job.id, escrow.vendor_id, text)
    return jobs.tell_parties(session, event, actor, job, payload, **details)


async def submit(
    session: AsyncSession, actor: Actor, milestone_id: str, evidence: Evidence
) -> MilestoneChanged:
    milestone, job, escrow = await _take(session, actor, Role.VENDOR, milestone_id, "submit")
    # Evidence without uploads is stored as before they existed.
    milestone.evidence = evidence.model_dump(
        mode="json", exclude=set() if evidence.photo_upload_ids else {"photo_upload_ids"}
    )
    milestone.submitted_at = clock.now()
    milestone.review_started_at = milestone.submitted_at
    milestone.changes_reason = None
    await uploads.attach(
        session,
        actor,
        evidence.photo_upload_ids,
        parent="milestone",
        parent_id=milestone.id,
        images_only=True,
    )
    event_id = await _tell_both(
        session,
        actor,
        job,
        escrow,
        SUBMITTED_TEXT,
        EventType.MILESTONE_SUBMITTED,
        {
            "milestone_id": milestone.id,
            "position": milestone.position,
            "evidence": milestone.evidence,
        },
        title=milestone.title,
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
    action = "request_changes"
    milestone, job, escrow = await _take(session, actor, Role.CUSTOMER, milestone_id, action)
    milestone.changes_reason = reason
    event_id = await _tell_both(
        session,
        actor,
        job,
        escrow,
        CHANGES_TEXT.format(reason=reason),
        EventType.MILESTONE_CHANGES_REQUESTED,
        {"milestone_id": milestone.id, "reason": reason},
        reason=reason,
    )
    return MilestoneChanged(milestone_id=milestone.id, status=milestone.status, event_id=event_id)


async def approve(session: AsyncSession, actor: Actor, milestone_id: str) -> MilestoneChanged:
    require(actor, Role.CUSTOMER)
    milestone, job, escrow = await _locked(session, actor, milestone_id)
    event_id = await _approve_and_release(session, actor, job, milestone, escrow)
    return MilestoneChanged(
        milestone_id=milestone.id, status=milestone.status, event_id=event_id, message=APPROVED_TEXT
    )


async def _approve_and_release(
    session: AsyncSession, actor: Actor, job: Job, milestone: Milestone, escrow: EscrowAccount
) -> str:
    """Approve, pay the milestone out of escrow, and complete the job with the last one."""
    _advance(milestone, escrow, "approve")
    now = clock.now()
    milestone.approved_at = now
    event_id = await _tell_both(
        session,
        actor,
        job,
        escrow,
        APPROVED_TEXT,
        EventType.MILESTONE_APPROVED,
        {
            "milestone_id": milestone.id,
            "amount": pence_to_pounds(milestone.amount_pence),
            "automatic": actor == SYSTEM,
        },
    )
    milestone.status = MILESTONE.transition(milestone.status, "release")
    milestone.released_at = now
    await escrow_service.pay_milestone(session, actor, escrow, milestone.amount_pence)
    await session.flush()
    if await repository.all_released(session, job.id):
        jobs.change(job, "complete", now)
        await session.flush()
        await messaging.post_to_job(session, actor, job.id, escrow.vendor_id, COMPLETED_TEXT)
        await lifecycle.announce_completed(session, actor, job)
    return event_id


async def auto_approve_due(session: AsyncSession, settings: Settings, *, batch: int = 20) -> int:
    """Approve milestones submitted and left unanswered for the configured days (scheduler).

    The days count from ``review_started_at``: the submission, or the resumption of a dispute
    that froze the job meanwhile (the customer gets a whole window again).

    Jobs locked by someone else are skipped and retried on the next run.
    """
    cutoff = clock.now() - timedelta(days=settings.milestone_auto_approve_days)
    approved = 0
    due = await repository.due_for_auto_approval(
        session,
        milestones_in_contract(SYSTEM),
        cutoff,
        batch,
        escrow_states=escrow_service.FUNDED_STATES,
    )
    for milestone_id, job_id in due:
        job = await jobs.find(
            session, jobs_in_contract(SYSTEM), job_id, lock=True, skip_locked=True
        )
        if job is None:
            continue
        milestone = await repository.get(
            session, milestones_in_contract(SYSTEM), milestone_id, lock=True
        )
        escrow = await escrow_service.lock_for_job(session, SYSTEM, job)
        if milestone is None or escrow is None or milestone.status != "submitted":
            continue
        if (
            milestone.review_started_at is None
            or milestone.review_started_at > cutoff
            or escrow.status not in escrow_service.FUNDED_STATES
        ):
            continue
        await _approve_and_release(session, SYSTEM, job, milestone, escrow)
        approved += 1
    return approved


async def restart_reviews(session: AsyncSession, job: Job) -> None:
    """A dispute on the (locked) job was resumed: the time it spent frozen does not count
    towards any submitted milestone's auto-approval, whose window starts again now."""
    await repository.restart_reviews(session, job.id, clock.now())


async def end_unpaid(session: AsyncSession, job: Job, *, cancelled: bool) -> list[str]:
    """A dispute ruling ended the (locked) job: every milestone not yet paid becomes terminal,
    ``cancelled`` with the job or ``settled`` by the ruling; their ids."""
    action = "cancel" if cancelled else "settle"
    return await repository.end_unpaid(
        session,
        job.id,
        sources=MILESTONE.sources(action),
        status=MILESTONE.transitions[(MILESTONE.sources(action)[0], action)],
    )
