from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts import repository as accounts
from tradematch.accounts.service import rating_average
from tradematch.authz.actor import Actor
from tradematch.authz.scopes import jobs_owned_by
from tradematch.core.config import Settings
from tradematch.core.errors import NotFound, ValidationFailed
from tradematch.events.service import emit
from tradematch.events.types import EventType
from tradematch.jobs import repository
from tradematch.jobs.models import Job
from tradematch.jobs.schemas import (
    EngagedVendor,
    EngagedVendorList,
    JobChanged,
    JobCreate,
    JobCreated,
    JobDetail,
    JobList,
    JobPublished,
    JobUpdate,
    VendorContact,
)
from tradematch.jobs.states import JOB
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.postcodes import outcode_of
from tradematch.leads import service as leads
from tradematch.uploads import service as uploads
from tradematch.uploads.links import UploadLinks
from tradematch.uploads.schemas import UploadView


async def _owned(session: AsyncSession, actor: Actor, job_id: str, *, lock: bool = False) -> Job:
    job = await repository.get(session, jobs_owned_by(actor), job_id, lock=lock)
    if job is None:
        raise NotFound("Job not found")
    return job


def _detail(job: Job, open_leads: int, photos: list[UploadView]) -> JobDetail:
    return JobDetail(
        job_id=job.id,
        status=job.status,
        title=job.title,
        description=job.description,
        trade_category=job.trade_category,
        budget_min=job.budget_min_pence,
        budget_max=job.budget_max_pence,
        timeframe=job.timeframe,
        postcode=job.postcode,
        leads_assigned=open_leads,
        created_at=job.created_at,
        updated_at=job.updated_at,
        published_at=job.published_at,
        cancelled_at=job.cancelled_at,
        photo_uploads=photos,
    )


async def create(session: AsyncSession, actor: Actor, request: JobCreate) -> JobCreated:
    postcode = request.postcode
    if postcode is None:
        customer = await accounts.by_id(session, actor.user_id)
        assert customer is not None
        postcode = customer.postcode
    job = Job(
        id=new_id("job"),
        customer_id=actor.user_id,
        title=request.title,
        description=request.description,
        trade_category=request.trade_category.value,
        budget_min_pence=request.budget_min,
        budget_max_pence=request.budget_max,
        timeframe=request.timeframe.value,
        postcode=postcode,
        outcode=outcode_of(postcode),
        status="draft",
    )
    session.add(job)
    await session.flush()
    await uploads.attach_job_photos(session, actor, job.id, request.photo_upload_ids, replace=False)
    event_id = emit(
        session,
        EventType.JOB_CREATED,
        actor=actor,
        job_id=job.id,
        payload={
            "status": job.status,
            "trade_category": job.trade_category,
            "photo_upload_ids": request.photo_upload_ids,
        },
        audience=[job.customer_id],
    )
    return JobCreated(job_id=job.id, status=job.status, event_id=event_id)


async def update_draft(
    session: AsyncSession, actor: Actor, job_id: str, change: JobUpdate
) -> JobChanged:
    job = await _owned(session, actor, job_id, lock=True)
    JOB.transition(job.status, "edit")
    fields = change.model_fields_set - {"idempotency_key"}
    if "title" in fields:
        job.title = change.title  # type: ignore[assignment]
    if "description" in fields:
        job.description = change.description
    if "trade_category" in fields and change.trade_category is not None:
        job.trade_category = change.trade_category.value
    if "timeframe" in fields and change.timeframe is not None:
        job.timeframe = change.timeframe.value
    if "budget_min" in fields:
        job.budget_min_pence = change.budget_min  # type: ignore[assignment]
    if "budget_max" in fields:
        job.budget_max_pence = change.budget_max  # type: ignore[assignment]
    if "postcode" in fields and change.postcode is not None:
        job.postcode = change.postcode
        job.outcode = outcode_of(change.postcode)
    if job.budget_min_pence > job.budget_max_pence:
        raise ValidationFailed("budget_min must not exceed budget_max")
    if change.photo_upload_ids is not None:
        await uploads.attach_job_photos(
            session, actor, job.id, change.photo_upload_ids, replace=True
        )
    await session.flush()
    event_id = emit(
        session,
        EventType.JOB_UPDATED,
        actor=actor,
        job_id=job.id,
        payload={"fields": sorted(fields)},
        audience=[job.customer_id],
    )
    return JobChanged(job_id=job.id, status=job.status, event_id=event_id)


async def publish(
    session: AsyncSession, actor: Actor, settings: Settings, job_id: str
) -> JobPublished:
    job = await _owned(session, actor, job_id, lock=True)
    job.status = JOB.transition(job.status, "publish")
    job.published_at = clock.now()
    await session.flush()
    event_id = emit(
        session,
        EventType.JOB_POSTED,
        actor=actor,
        job_id=job.id,
        payload={"status": job.status},
        audience=[job.customer_id],
    )
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
    job = await _owned(session, actor, job_id, lock=True)
    job.status = JOB.transition(job.status, "cancel")
    job.cancelled_at = clock.now()
    await session.flush()
    event_id = emit(
        session,
        EventType.JOB_CANCELLED,
        actor=actor,
        job_id=job.id,
        payload={"status": job.status},
        audience=[job.customer_id],
    )
    await leads.close_open_leads(session, actor, job)
    return JobChanged(job_id=job.id, status=job.status, event_id=event_id)


async def get(session: AsyncSession, actor: Actor, links: UploadLinks, job_id: str) -> JobDetail:
    job = await _owned(session, actor, job_id)
    counts = await repository.open_lead_counts(session, [job.id])
    photos = await uploads.views_of(session, links, actor, "job", [job.id])
    return _detail(job, counts.get(job.id, 0), photos[job.id])


async def list_mine(
    session: AsyncSession,
    actor: Actor,
    links: UploadLinks,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
) -> JobList:
    found = await repository.list_jobs(
        session, jobs_owned_by(actor), limit=limit + 1, before=cursor, status=status
    )
    more = len(found) > limit
    found = found[:limit]
    counts = await repository.open_lead_counts(session, [j.id for j in found])
    photos = await uploads.views_of(session, links, actor, "job", [j.id for j in found])
    return JobList(
        items=[_detail(j, counts.get(j.id, 0), photos[j.id]) for j in found],
        next_cursor=found[-1].id if more else None,
    )


async def engaged_vendors(session: AsyncSession, actor: Actor, job_id: str) -> EngagedVendorList:
    job = await _owned(session, actor, job_id)
    rows = await repository.engaged_vendors(session, job.id)
    return EngagedVendorList(
        items=[
            EngagedVendor(
                vendor_id=lead.vendor_id,
                business_name=profile.business_name,
                rating_average=rating_average(profile),
                rating_count=profile.rating_count,
                badges=list(profile.badges),
                distance_miles=round(lead.distance_miles, 1),
                lead_status=lead.status,
                conversation_id=conversation_id,
                contact=VendorContact(name=user.name, phone=user.phone, email=user.email),
            )
            for lead, profile, user, conversation_id in rows
        ]
    )
