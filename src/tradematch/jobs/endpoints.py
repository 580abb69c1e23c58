from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from tradematch.api.deps import CustomerDep, CustomerOrAdminDep, EmptyBody, SessionDep, SettingsDep
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.jobs import lifecycle, service
from tradematch.jobs.schemas import (
    JobChanged,
    JobCreate,
    JobCreated,
    JobDetail,
    JobList,
    JobPublished,
    JobUpdate,
)
from tradematch.jobs.states import JOB
from tradematch.kit.ids import JobId
from tradematch.kit.pagination import PageLimit
from tradematch.leads import service as leads
from tradematch.leads.schemas import EngagedVendorList
from tradematch.uploads.deps import UploadLinksDep

router = APIRouter(tags=["jobs"], route_class=TransactionalRoute)


@router.post(
    "/jobs",
    status_code=status.HTTP_201_CREATED,
    response_model=JobCreated,
    dependencies=[Idempotent],
)
async def create_job(body: JobCreate, actor: CustomerDep, session: SessionDep) -> JobCreated:
    """Create a job as a draft. `postcode` defaults to the customer's own."""
    return await service.create(session, actor, body)


@router.get("/jobs", response_model=JobList)
async def list_jobs(
    actor: CustomerOrAdminDep,
    session: SessionDep,
    links: UploadLinksDep,
    status: Annotated[str | None, Query(pattern=JOB.pattern)] = None,
    cursor: Annotated[JobId | None, Query()] = None,
    limit: PageLimit = 20,
) -> JobList:
    """My jobs, newest first (admin: every job)."""
    return await service.list_mine(session, actor, links, limit=limit, cursor=cursor, status=status)


@router.get("/jobs/{job_id}", response_model=JobDetail)
async def get_job(
    job_id: JobId, actor: CustomerOrAdminDep, session: SessionDep, links: UploadLinksDep
) -> JobDetail:
    return await service.get(session, actor, links, job_id)


@router.patch("/jobs/{job_id}", response_model=JobChanged, dependencies=[Idempotent])
async def edit_job(
    job_id: JobId, body: JobUpdate, actor: CustomerDep, session: SessionDep
) -> JobChanged:
    """Edit a draft (409 once published)."""
    return await service.update_draft(session, actor, job_id, body)


@router.patch("/jobs/{job_id}/publish", response_model=JobPublished, dependencies=[Idempotent])
async def publish_job(
    job_id: JobId,
    actor: CustomerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: EmptyBody,
) -> JobPublished:
    """Publish a draft: it goes live and is offered to up to five matching vendors."""
    return await lifecycle.publish(session, actor, settings, job_id)


@router.patch("/jobs/{job_id}/cancel", response_model=JobChanged, dependencies=[Idempotent])
async def cancel_job(
    job_id: JobId, actor: CustomerDep, session: SessionDep, body: EmptyBody
) -> JobChanged:
    """Cancel a draft or live job; vendors holding leads are told it is no longer available."""
    return await lifecycle.cancel(session, actor, job_id)


@router.get("/jobs/{job_id}/vendors", response_model=EngagedVendorList)
async def job_vendors(
    job_id: JobId, actor: CustomerOrAdminDep, session: SessionDep
) -> EngagedVendorList:
    """Vendors who accepted this job's lead: limited profile plus contact details."""
    return await leads.engaged_vendors(session, actor, job_id)
