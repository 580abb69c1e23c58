"""The job's changes that reach its leads: publishing offers it to vendors; cancelling, expiring
and awarding it take it away from the vendors still holding open leads."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import jobs_owned_by
from tradematch.core.config import Settings
from tradematch.core.errors import NoLongerAvailable
from tradematch.events.context import for_parties
from tradematch.events.types import EventType
from tradematch.jobs import service as jobs
from tradematch.jobs.models import Job
from tradematch.jobs.schemas import JobChanged, JobPublished
from tradematch.kit import clock
from tradematch.leads import service as leads
from tradematch.leads.models import Lead
from tradematch.messaging import service as messaging
from tradematch.quotes import service as quotes

NO_LONGER_AVAILABLE = NoLongerAvailable.message


async def _change_own(
    session: AsyncSession, actor: Actor, job_id: str, action: str, event: EventType
) -> tuple[Job, str]:
    """The customer's ``action`` on their own job (locked), recorded as ``event``; its id."""
    require(actor, Role.CUSTOMER)
    job = await jobs.lock(session, jobs_owned_by(actor), job_id)
    jobs.change(job, action, clock.now())
    await session.flush()
    return job, jobs.customer_of(job).emit(session, event, actor, {"status": job.status})


async def publish(
    session: AsyncSession, actor: Actor, settings: Settings, job_id: str
) -> JobPublished:
    """A draft goes live and is offered to up to ``max_open_leads`` matching vendors."""
    job, event_id = await _change_own(session, actor, job_id, "publish", EventType.JOB_POSTED)
    offered = await leads.offer_leads(session, actor, settings, job)
    count = len(offered)
    noun = "vendor" if count == 1 else "vendors"
    return JobPublished(
        job_id=job.id,
        status=job.status,
        leads_assigned=count,
        message=f"Job published. {count} {noun} notified.",
        event_id=event_id,
    )


async def cancel(session: AsyncSession, actor: Actor, job_id: str) -> JobChanged:
    """A draft or live job is cancelled; vendors holding leads hear it is no longer available."""
    job, event_id = await _change_own(session, actor, job_id, "cancel", EventType.JOB_CANCELLED)
    await close_open_leads(session, actor, job)
    return JobChanged(job_id=job.id, status=job.status, event_id=event_id)


async def announce_completed(session: AsyncSession, by: Actor, job: Job) -> None:
    """The awarded job was completed (``by`` whoever paid its last milestone, or ruled): the
    vendor's conversation is archived and both parties hear it."""
    assert job.awarded_vendor_id is not None
    await messaging.archive_for_job_vendor(session, by, job.id, job.awarded_vendor_id)
    jobs.tell_parties(session, EventType.JOB_COMPLETED, by, job, {"status": job.status})


async def close_open_leads(
    session: AsyncSession, by: Actor, job: Job, *, except_lead: str | None = None
) -> list[Lead]:
    """Close every open lead of the (locked) job: another vendor won, or the job ended. Their
    pending quotes expire, their conversations lock, and each vendor hears only that the job is
    gone (from ``by``, whoever ended it)."""
    closed = await leads.close_open(session, job, except_lead=except_lead)
    lead_ids = [lead.id for lead in closed]
    await quotes.expire_pending_for_leads(session, lead_ids)
    await messaging.lock_for_leads(session, lead_ids)
    for lead in closed:
        payload = {"lead_id": lead.id, "message": NO_LONGER_AVAILABLE}
        context = for_parties(None, lead.vendor_id)
        leads.vendor_of(lead).emit(session, EventType.LEAD_CLOSED, by, payload, context)
    return closed
