"""Admin views (mounted under ``/api/admin``): any job, lead and event unmasked (lead prices
included), one job's chain verification, disputes, review moderation, notifications that could
not be delivered, and who is being refused how often."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from tradematch.api.deps import AdminDep, SessionDep, SettingsDep
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.denials import service as denials
from tradematch.denials.schemas import DenialReport, DeniedStatus
from tradematch.disputes import service as disputes
from tradematch.disputes.schemas import DisputeList, DisputeResolved, ResolveDispute
from tradematch.escrow import service as escrow_service
from tradematch.escrow.schemas import EscrowAdminView, PayoutAdminList
from tradematch.events import service as events
from tradematch.events.schemas import AdminEventPage, ChainVerification
from tradematch.jobs import service as jobs
from tradematch.jobs.schemas import JobDetail
from tradematch.kit.ids import DisputeId, JobId, LeadId, NotificationId, QuoteId, ReviewId
from tradematch.kit.schemas import ResponseModel
from tradematch.leads import service as leads
from tradematch.leads.schemas import LeadAdmin
from tradematch.milestones import service as milestones
from tradematch.milestones.schemas import MilestoneView
from tradematch.notifications import service as notifications
from tradematch.notifications.schemas import DeadLetterPage
from tradematch.quotes import service as quotes
from tradematch.quotes.schemas import QuoteView
from tradematch.reviews import service as reviews
from tradematch.reviews.schemas import Moderate, ReviewChanged, ReviewOwnView
from tradematch.uploads.deps import UploadLinksDep

router = APIRouter(tags=["admin"], route_class=TransactionalRoute)


class AdminJob(JobDetail):
    customer_id: str
    leads: list[LeadAdmin]


class AdminEscrow(EscrowAdminView):
    milestones: list[MilestoneView]


class HeldReviews(ResponseModel):
    items: list[ReviewOwnView]


@router.get("/jobs/{job_id}", response_model=AdminJob)
async def admin_job(
    job_id: JobId, actor: AdminDep, session: SessionDep, links: UploadLinksDep
) -> AdminJob:
    """Any job, with every lead and its price."""
    detail, customer_id = await jobs.get_for_admin(session, actor, links, job_id)
    # dict(), not model_dump(): the fields as stored (pence), not serialised to pounds.
    return AdminJob(
        **dict(detail),
        customer_id=customer_id,
        leads=await leads.on_job_for_admin(session, actor, job_id),
    )


@router.get("/leads/{lead_id}", response_model=LeadAdmin)
async def admin_lead(lead_id: LeadId, actor: AdminDep, session: SessionDep) -> LeadAdmin:
    return await leads.get_for_admin(session, actor, lead_id)


@router.get("/events", response_model=AdminEventPage)
async def admin_events(
    actor: AdminDep,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    job_id: Annotated[JobId | None, Query()] = None,
) -> AdminEventPage:
    """The full event log, unmasked, in sequence order (optionally one job's)."""
    return await events.admin_feed(session, actor, after=after, limit=limit, job_id=job_id)


@router.get("/jobs/{job_id}/chain", response_model=ChainVerification)
async def verify_job_chain(
    job_id: JobId, actor: AdminDep, session: SessionDep
) -> ChainVerification:
    """Walk one job's event hash chain (as ``tradematch events verify`` does for all) and name
    the first event that does not match."""
    return await events.verify_job_chain(session, actor, job_id)


@router.get("/notifications/dead", response_model=DeadLetterPage)
async def dead_letters(
    actor: AdminDep,
    session: SessionDep,
    cursor: Annotated[NotificationId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeadLetterPage:
    """Notifications that failed every attempt and were parked, newest first
    (``tradematch events replay`` re-drives them)."""
    return await notifications.dead_letters(session, actor, cursor=cursor, limit=limit)


@router.get("/quotes/{quote_id}", response_model=QuoteView)
async def admin_quote(quote_id: QuoteId, actor: AdminDep, session: SessionDep) -> QuoteView:
    return await quotes.get(session, actor, quote_id)


@router.get("/jobs/{job_id}/escrow", response_model=AdminEscrow)
async def admin_escrow(
    job_id: JobId, actor: AdminDep, session: SessionDep, links: UploadLinksDep
) -> AdminEscrow:
    escrow = await escrow_service.get_for_admin(session, actor, job_id)
    plan = await milestones.list_for_job(session, actor, links, job_id)
    return AdminEscrow(**dict(escrow), milestones=plan.items)


@router.get("/payouts", response_model=PayoutAdminList)
async def admin_payouts(actor: AdminDep, session: SessionDep) -> PayoutAdminList:
    """Everyone's payouts, newest first (the latest 100)."""
    return await escrow_service.every_payout(session, actor)


@router.get("/disputes", response_model=DisputeList)
async def admin_disputes(
    actor: AdminDep,
    session: SessionDep,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
) -> DisputeList:
    """Disputes, newest first (filter by status)."""
    return await disputes.list_disputes(session, actor, status)


@router.patch(
    "/disputes/{dispute_id}/resolve", response_model=DisputeResolved, dependencies=[Idempotent]
)
async def resolve_dispute(
    dispute_id: DisputeId,
    body: ResolveDispute,
    actor: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
) -> DisputeResolved:
    """Resolve a dispute: release to the vendor, refund the customer, split, or resume the job."""
    return await disputes.resolve(session, actor, settings, dispute_id, body)


@router.get("/reviews/held", response_model=HeldReviews)
async def held_reviews(actor: AdminDep, session: SessionDep) -> HeldReviews:
    """Reviews waiting for moderation."""
    return HeldReviews(items=await reviews.held(session, actor))


@router.patch(
    "/reviews/{review_id}/moderate", response_model=ReviewChanged, dependencies=[Idempotent]
)
async def moderate_review(
    review_id: ReviewId, body: Moderate, actor: AdminDep, session: SessionDep
) -> ReviewChanged:
    """Publish (approve) or reject a held review."""
    return await reviews.moderate(session, actor, review_id, body.decision, body.reason)


@router.get("/denials", response_model=DenialReport)
async def denials_by_actor(
    request: Request,
    actor: AdminDep,
    session: SessionDep,
    status: Annotated[DeniedStatus, Query()] = DeniedStatus.NOT_FOUND,
    hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DenialReport:
    """Refused requests per actor over the last ``hours``, most refused first: by default the
    404s, i.e. requests for objects that do not exist or are not the caller's (a high count
    suggests someone probing for other users' ids). Counted per hour; other server processes'
    latest counts arrive within ``TRADEMATCH_DENIAL_FLUSH_SECONDS``."""
    recorder: denials.DenialRecorder | None = getattr(request.app.state, "denials", None)
    if recorder is not None:
        await recorder.flush(request.app.state.sessionmaker)  # this process's latest first
    return await denials.report(session, actor, int(status), hours=hours, limit=limit)
