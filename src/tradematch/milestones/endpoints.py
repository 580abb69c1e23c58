from __future__ import annotations

from fastapi import APIRouter

from tradematch.api.deps import ActorDep, CustomerDep, EmptyBody, SessionDep, VendorDep
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.kit.ids import JobId, MilestoneId
from tradematch.milestones import service
from tradematch.milestones.schemas import (
    MilestoneChanged,
    MilestoneList,
    RequestChanges,
    SubmitMilestone,
)
from tradematch.uploads.deps import UploadLinksDep

router = APIRouter(tags=["milestones"], route_class=TransactionalRoute)


@router.get("/jobs/{job_id}/milestones", response_model=MilestoneList)
async def list_milestones(
    job_id: JobId, actor: ActorDep, session: SessionDep, links: UploadLinksDep
) -> MilestoneList:
    """The job's milestones, for its customer and the winning vendor (and admins)."""
    return await service.list_for_job(session, actor, links, job_id)


@router.post(
    "/milestones/{milestone_id}/submit", response_model=MilestoneChanged, dependencies=[Idempotent]
)
async def submit_milestone(
    milestone_id: MilestoneId, body: SubmitMilestone, actor: VendorDep, session: SessionDep
) -> MilestoneChanged:
    """Submit a milestone with evidence (a description, and photos as https URLs and/or your own
    unattached image uploads, at most 10 in all); only while escrow is funded."""
    return await service.submit(session, actor, milestone_id, body.completion_evidence)


@router.patch(
    "/milestones/{milestone_id}/approve", response_model=MilestoneChanged, dependencies=[Idempotent]
)
async def approve_milestone(
    milestone_id: MilestoneId,
    actor: CustomerDep,
    session: SessionDep,
    body: EmptyBody,
) -> MilestoneChanged:
    """Approve a submitted milestone: its amount is released to the vendor's wallet."""
    return await service.approve(session, actor, milestone_id)


@router.patch(
    "/milestones/{milestone_id}/request-changes",
    response_model=MilestoneChanged,
    dependencies=[Idempotent],
)
async def request_changes(
    milestone_id: MilestoneId, body: RequestChanges, actor: CustomerDep, session: SessionDep
) -> MilestoneChanged:
    """Send a submitted milestone back with a reason; the vendor resubmits."""
    return await service.request_changes(session, actor, milestone_id, body.reason)
