"""Admin views: any job, lead and event, unmasked (lead prices included)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from tradematch.authz.scopes import jobs_owned_by, leads_held_by
from tradematch.core.deps import AdminDep, SessionDep
from tradematch.core.errors import NotFound
from tradematch.core.routing import TransactionalRoute
from tradematch.events import repository as events
from tradematch.events.queries import admin_view
from tradematch.events.schemas import AdminEventView
from tradematch.jobs import repository as job_repository
from tradematch.jobs import service as jobs
from tradematch.jobs.schemas import JobDetail
from tradematch.kit.schemas import ResponseModel
from tradematch.leads import repository as leads
from tradematch.leads import service as lead_service
from tradematch.leads.models import Lead
from tradematch.leads.schemas import LeadAdmin

router = APIRouter(tags=["admin"], route_class=TransactionalRoute)


class AdminJob(JobDetail):
    customer_id: str
    leads: list[LeadAdmin]


class AdminEventPage(ResponseModel):
    items: list[AdminEventView]
    next_after: int


@router.get("/jobs/{job_id}", response_model=AdminJob)
async def admin_job(job_id: str, actor: AdminDep, session: SessionDep) -> AdminJob:
    """Any job, with every lead and its price."""
    detail = await jobs.get(session, actor, job_id)
    job = await job_repository.get(session, jobs_owned_by(actor), job_id)
    assert job is not None
    found = (
        await session.execute(select(Lead).where(Lead.job_id == job_id).order_by(Lead.id))
    ).scalars()
    return AdminJob(
        **detail.model_dump(),
        customer_id=job.customer_id,
        leads=[lead_service.admin_view(x) for x in found],
    )


@router.get("/leads/{lead_id}", response_model=LeadAdmin)
async def admin_lead(lead_id: str, actor: AdminDep, session: SessionDep) -> LeadAdmin:
    lead = await leads.get(session, leads_held_by(actor), lead_id)
    if lead is None:
        raise NotFound("Lead not found")
    return lead_service.admin_view(lead)


@router.get("/events", response_model=AdminEventPage)
async def admin_events(
    actor: AdminDep,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    job_id: Annotated[str | None, Query(max_length=40)] = None,
) -> AdminEventPage:
    """The full event log, unmasked, in sequence order (optionally one job's)."""
    records = await events.feed(session, None, after=after, limit=limit, job_id=job_id)
    return AdminEventPage(
        items=[admin_view(r) for r in records], next_after=records[-1].seq if records else after
    )
