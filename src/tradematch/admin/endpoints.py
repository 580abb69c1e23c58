"""Admin views: any job, lead and event, unmasked (lead prices included)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from tradematch.authz.scopes import jobs_owned_by, leads_held_by
from tradematch.core.deps import AdminDep, SessionDep, SettingsDep
from tradematch.core.errors import NotFound
from tradematch.core.routing import TransactionalRoute
from tradematch.disputes import service as dispute_service
from tradematch.disputes.schemas import DisputeList, DisputeResolved, ResolveDispute
from tradematch.escrow import service as escrow_service
from tradematch.escrow.schemas import EscrowView
from tradematch.events import repository as events
from tradematch.events.queries import admin_view
from tradematch.events.schemas import AdminEventView
from tradematch.events.verify import verify_chains
from tradematch.jobs import repository as job_repository
from tradematch.jobs import service as jobs
from tradematch.jobs.schemas import JobDetail
from tradematch.kit.schemas import ResponseModel
from tradematch.leads import repository as leads
from tradematch.leads import service as lead_service
from tradematch.leads.models import Lead
from tradematch.leads.schemas import LeadAdmin
from tradematch.milestones import repository as milestone_repository
from tradematch.milestones import service as milestone_service
from tradematch.milestones.schemas import MilestoneView
from tradematch.notifications import repository as notification_repository
from tradematch.quotes import service as quote_service
from tradematch.quotes.schemas import QuoteView
from tradematch.reviews import service as review_service
from tradematch.reviews.schemas import Moderate, ReviewChanged, ReviewOwnView
from tradematch.uploads.deps import UploadLinksDep

router = APIRouter(tags=["admin"], route_class=TransactionalRoute)


class AdminJob(JobDetail):
    customer_id: str
    leads: list[LeadAdmin]


class AdminEventPage(ResponseModel):
    items: list[AdminEventView]
    next_after: int


@router.get("/jobs/{job_id}", response_model=AdminJob)
async def admin_job(
    job_id: str, actor: AdminDep, session: SessionDep, links: UploadLinksDep
) -> AdminJob:
    """Any job, with every lead and its price."""
    detail = await jobs.get(session, actor, links, job_id)
    job = await job_repository.get(session, jobs_owned_by(actor), job_id)
    assert job is not None
    found = (
        await session.execute(select(Lead).where(Lead.job_id == job_id).order_by(Lead.id))
    ).scalars()
    # dict(), not model_dump(): the fields as stored (pence), not serialised to pounds.
    return AdminJob(
        **dict(detail),
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


class ChainBreak(ResponseModel):
    event_id: str
    seq: int
    reason: str


class ChainVerification(ResponseModel):
    job_id: str
    ok: bool
    events: int
    first_break: ChainBreak | None


@router.get("/jobs/{job_id}/chain", response_model=ChainVerification)
async def verify_job_chain(job_id: str, actor: AdminDep, session: SessionDep) -> ChainVerification:
    """Walk one job's event hash chain (as ``tradematch events verify`` does for all) and name
    the first event that does not match."""
    if await job_repository.get(session, jobs_owned_by(actor), job_id) is None:
        raise NotFound("Job not found")
    report = await verify_chains(session, job_id=job_id)
    first = report.breaks[0] if report.breaks else None
    return ChainVerification(
        job_id=job_id,
        ok=report.ok,
        events=report.events,
        first_break=ChainBreak(event_id=first.event_id, seq=first.seq, reason=first.reason)
        if first
        else None,
    )


class DeadLetter(ResponseModel):
    notification_id: str
    event_id: str
    event_type: str
    user_id: str
    channel: str
    title: str
    attempts: int
    last_error: str | None
    created_at: datetime


class DeadLetterPage(ResponseModel):
    items: list[DeadLetter]
    next_cursor: str | None


@router.get("/notifications/dead", response_model=DeadLetterPage)
async def dead_letters(
    actor: AdminDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=40, pattern="^ntf_[0-9A-Z]{26}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeadLetterPage:
    """Notifications that failed every attempt and were parked, newest first
    (``tradematch events replay`` re-drives them)."""
    rows = await notification_repository.dead_letters(session, limit=limit + 1, before=cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    return DeadLetterPage(
        items=[
            DeadLetter(
                notification_id=n.id,
                event_id=n.event_id,
                event_type=event_type,
                user_id=n.user_id,
                channel=n.channel,
                title=n.title,
                attempts=n.attempts,
                last_error=n.last_error,
                created_at=n.created_at,
            )
            for n, event_type in rows
        ],
        next_cursor=rows[-1][0].id if more else None,
    )


@router.get("/quotes/{quote_id}", response_model=QuoteView)
async def admin_quote(quote_id: str, actor: AdminDep, session: SessionDep) -> QuoteView:
    return await quote_service.get(session, actor, quote_id)


class AdminEscrow(EscrowView):
    customer_id: str
    vendor_id: str
    quote_id: str
    milestones: list[MilestoneView]


@router.get("/jobs/{job_id}/escrow", response_model=AdminEscrow)
async def admin_escrow(
    job_id: str, actor: AdminDep, session: SessionDep, links: UploadLinksDep
) -> AdminEscrow:
    escrow = await escrow_service.for_job(session, job_id)
    if escrow is None:
        raise NotFound("Escrow not found")
    milestones = await milestone_repository.for_job(session, job_id)
    return AdminEscrow(
        **dict(escrow_service.view(escrow)),
        customer_id=escrow.customer_id,
        vendor_id=escrow.vendor_id,
        quote_id=escrow.quote_id,
        milestones=await milestone_service.views(session, actor, links, milestones),
    )


@router.get("/disputes", response_model=DisputeList)
async def admin_disputes(
    actor: AdminDep,
    session: SessionDep,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
) -> DisputeList:
    """Disputes, newest first (filter by status)."""
    return await dispute_service.list_disputes(session, status)


@router.patch("/disputes/{dispute_id}/resolve", response_model=DisputeResolved)
async def resolve_dispute(
    dispute_id: str,
    body: ResolveDispute,
    actor: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
) -> DisputeResolved:
    """Resolve a dispute: release to the vendor, refund the customer, split, or resume the job."""
    return await dispute_service.resolve(session, actor, settings, dispute_id, body)


class HeldReviews(ResponseModel):
    items: list[ReviewOwnView]


@router.get("/reviews/held", response_model=HeldReviews)
async def held_reviews(actor: AdminDep, session: SessionDep) -> HeldReviews:
    """Reviews waiting for moderation."""
    return HeldReviews(items=await review_service.held(session))


@router.patch("/reviews/{review_id}/moderate", response_model=ReviewChanged)
async def moderate_review(
    review_id: str, body: Moderate, actor: AdminDep, session: SessionDep
) -> ReviewChanged:
    """Publish (approve) or reject a held review."""
    return await review_service.moderate(session, actor, review_id, body.decision, body.reason)
