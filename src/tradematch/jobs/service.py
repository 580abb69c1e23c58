"""Jobs: drafts, the customer's views, the job's state changes, and the lock every change of a
job's child rows starts with. Publishing and cancelling involve the leads: ``jobs/lifecycle.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar, Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts import service as accounts
from tradematch.authz.actor import SYSTEM, Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import JobScope, jobs_owned_by
from tradematch.core.errors import NotFound, ValidationFailed
from tradematch.events.audience import Audience, JobParties
from tradematch.events.context import Details
from tradematch.events.types import EventType
from tradematch.jobs import repository
from tradematch.jobs.models import Job
from tradematch.jobs.schemas import JobChanged, JobCreate, JobCreated, JobDetail, JobList, JobUpdate
from tradematch.jobs.states import JOB
from tradematch.kit.ids import new_id
from tradematch.kit.pagination import StatusPage, page
from tradematch.kit.postcodes import outcode_of
from tradematch.uploads import service as uploads
from tradematch.uploads.links import UploadLinks
from tradematch.uploads.schemas import UploadView

Child = TypeVar("Child")


async def find(
    session: AsyncSession,
    scope: JobScope,
    job_id: str,
    *,
    lock: bool = False,
    skip_locked: bool = False,
) -> Job | None:
    """A job in ``scope`` (locked with FOR NO KEY UPDATE if asked), or None."""
    return await repository.get(session, scope, job_id, lock=lock, skip_locked=skip_locked)


async def lock(session: AsyncSession, scope: JobScope, job_id: str) -> Job:
    """The job in ``scope``, locked; 404 if it is not there."""
    job = await repository.get(session, scope, job_id, lock=True)
    if job is None:
        raise NotFound("Job not found")
    return job


async def lock_with(
    session: AsyncSession,
    scope: JobScope,
    read: Callable[[bool], Awaitable[Child | None]],
    *,
    job_of: Callable[[Child], str],
    missing: str,
    job_id_of: Any = None,
) -> tuple[Job, Child]:
    """Lock a job, then one of its rows, in the order every path takes (so none deadlock).

    ``read(lock)`` reads the row in the actor's scope: first unlocked, to learn its job; the job
    is then locked in ``scope``, and the row read again under a lock of its own, so the caller
    decides on both as they are now. With ``job_id_of`` (a subquery naming the row's job, from
    the row's repository) the first read is skipped: the job is locked through it in the same
    statement. 404 ``missing`` if either is out of reach."""
    job = None
    if job_id_of is not None:
        job = await repository.get(session, scope, job_id_of, lock=True)
    else:
        found = await read(False)
        if found is not None:
            job = await repository.get(session, scope, job_of(found), lock=True)
    child = await read(True) if job is not None else None
    if job is None or child is None or job_of(child) != job.id:
        raise NotFound(missing)
    return job, child


async def lock_of_own_lead(
    session: AsyncSession, actor: Actor, lead_id: str
) -> repository.LockedJob | None:
    """The job of the acting vendor's own lead, locked before the lead (the order every path
    takes); None if out of reach."""
    require(actor, Role.VENDOR)
    return await repository.lock_of_vendor_lead(session, actor.user_id, lead_id)


def _detail(job: Job, leads_assigned: int, photos: list[UploadView]) -> JobDetail:
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
        leads_assigned=leads_assigned,
        created_at=job.created_at,
        updated_at=job.updated_at,
        published_at=job.published_at,
        cancelled_at=job.cancelled_at,
        photo_uploads=photos,
    )


async def create(session: AsyncSession, actor: Actor, request: JobCreate) -> JobCreated:
    require(actor, Role.CUSTOMER)
    postcode = request.postcode or (await accounts.account(session, actor)).postcode
    job = await repository.add(
        session,
        Job(
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
        ),
    )
    await uploads.attach_job_photos(session, actor, job.id, request.photo_upload_ids, replace=False)
    payload = {
        "status": job.status,
        "trade_category": job.trade_category,
        "photo_upload_ids": request.photo_upload_ids,
    }
    event_id = customer_of(job).emit(session, EventType.JOB_CREATED, actor, payload)
    return JobCreated(job_id=job.id, status=job.status, event_id=event_id)


async def update_draft(
    session: AsyncSession, actor: Actor, job_id: str, change: JobUpdate
) -> JobChanged:
    require(actor, Role.CUSTOMER)
    job = await lock(session, jobs_owned_by(actor), job_id)
    JOB.transition(job.status, "edit")
    fields = change.model_fields_set
    if change.title is not None:
        job.title = change.title
    if "description" in fields:
        job.description = change.description
    if change.trade_category is not None:
        job.trade_category = change.trade_category.value
    if change.timeframe is not None:
        job.timeframe = change.timeframe.value
    if change.budget_min is not None:
        job.budget_min_pence = change.budget_min
    if change.budget_max is not None:
        job.budget_max_pence = change.budget_max
    if change.postcode is not None:
        job.postcode = change.postcode
        job.outcode = outcode_of(change.postcode)
    if job.budget_min_pence > job.budget_max_pence:
        raise ValidationFailed("budget_min must not exceed budget_max")
    if change.photo_upload_ids is not None:
        await uploads.attach_job_photos(
            session, actor, job.id, change.photo_upload_ids, replace=True
        )
    await session.flush()
    payload = {"fields": sorted(fields)}
    event_id = customer_of(job).emit(session, EventType.JOB_UPDATED, actor, payload)
    return JobChanged(job_id=job.id, status=job.status, event_id=event_id)


async def _with_photos(
    session: AsyncSession, actor: Actor, links: UploadLinks, rows: list[tuple[Job, int]]
) -> list[JobDetail]:
    photos = await uploads.views_of(session, actor, links, "job", [job.id for job, _ in rows])
    return [_detail(job, leads_assigned, photos[job.id]) for job, leads_assigned in rows]


async def get(session: AsyncSession, actor: Actor, links: UploadLinks, job_id: str) -> JobDetail:
    require(actor, Role.CUSTOMER, Role.ADMIN)
    found = await repository.get_with_leads_assigned(session, jobs_owned_by(actor), job_id)
    if found is None:
        raise NotFound("Job not found")
    [detail] = await _with_photos(session, actor, links, [found])
    return detail


async def get_for_admin(
    session: AsyncSession, actor: Actor, links: UploadLinks, job_id: str
) -> tuple[JobDetail, str]:
    """Any job, and its customer's id (admins only)."""
    require(actor, Role.ADMIN)
    found = await repository.get_with_leads_assigned(session, jobs_owned_by(actor), job_id)
    if found is None:
        raise NotFound("Job not found")
    [detail] = await _with_photos(session, actor, links, [found])
    return detail, found[0].customer_id


async def list_mine(
    session: AsyncSession, actor: Actor, links: UploadLinks, **asked: Unpack[StatusPage]
) -> JobList:
    require(actor, Role.CUSTOMER, Role.ADMIN)
    limit = asked["limit"]
    rows = await repository.page_with_leads_assigned(
        session, jobs_owned_by(actor), after=asked["cursor"], limit=limit, status=asked["status"]
    )
    found = page(rows, limit, lambda row: row[0].id)
    return JobList(
        items=await _with_photos(session, actor, links, found.items),
        next_cursor=found.next_cursor,
    )


async def live_short_of_leads(
    session: AsyncSession,
    published_after: datetime,
    target: int,
    *,
    after: str | None,
    limit: int,
) -> list[str]:
    """The scheduler's top-up candidates: live jobs with fewer than ``target`` open leads,
    except those due to expire (published at or before ``published_after``, nobody engaged)."""
    return await repository.live_jobs_short_of_leads(
        session, jobs_owned_by(SYSTEM), published_after, target, after=after, limit=limit
    )


# The job's state changes, made by whoever drives them (each on a job locked in scope); the
# caller flushes and emits. The moment an action records, by the column it stamps (the other
# actions stamp none).
STAMPS = {
    "publish": "published_at",
    "cancel": "cancelled_at",
    "resolve_cancelled": "cancelled_at",
    "award": "awarded_at",
    "complete": "completed_at",
    "resolve_completed": "completed_at",
    "close": "closed_at",
}


def change(job: Job, action: str, now: datetime) -> None:
    """``action`` on the job by its transition table (409 if its state does not allow it),
    stamping ``now`` where the action is recorded."""
    job.status = JOB.transition(job.status, action)
    if action in STAMPS:
        setattr(job, STAMPS[action], now)


def award(job: Job, vendor_id: str, now: datetime) -> None:
    change(job, "award", now)
    job.awarded_vendor_id = vendor_id


def customer_of(job: Job) -> Audience:
    """The audience of an event about the job that its customer alone sees."""
    return Audience(job.id, [job.customer_id])


def tell_parties(
    session: AsyncSession,
    type: EventType,
    actor: Actor,
    job: Job,
    payload: dict[str, Any],
    **details: Unpack[Details],
) -> str:
    """An event about the awarded job, seen by both its parties (the rules may notify either,
    with ``details`` for the texts)."""
    assert job.awarded_vendor_id is not None
    parties = JobParties(job.id, job.customer_id, job.awarded_vendor_id)
    return parties.emit(session, type, actor, payload, **details)
