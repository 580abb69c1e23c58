from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from tradematch.api.deps import ActorDep, CustomerDep, SessionDep, VendorDep
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.kit.ids import JobId, ReviewId, UserId
from tradematch.kit.pagination import PageLimit
from tradematch.reviews import service
from tradematch.reviews.schemas import (
    CustomerReply,
    ReviewChanged,
    ReviewCreate,
    ReviewList,
    ReviewOwnView,
    ReviewPosted,
    VendorResponse,
)

router = APIRouter(tags=["reviews"], route_class=TransactionalRoute)


@router.post(
    "/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewPosted,
    dependencies=[Idempotent],
)
async def post_review(body: ReviewCreate, actor: CustomerDep, session: SessionDep) -> ReviewPosted:
    """Review the vendor of my completed job (once). Closes the job."""
    return await service.post(session, actor, body)


@router.patch(
    "/reviews/{review_id}/respond", response_model=ReviewChanged, dependencies=[Idempotent]
)
async def respond(
    review_id: ReviewId, body: VendorResponse, actor: VendorDep, session: SessionDep
) -> ReviewChanged:
    """The vendor's public response (once)."""
    return await service.respond(session, actor, review_id, body.response)


@router.patch("/reviews/{review_id}/reply", response_model=ReviewChanged, dependencies=[Idempotent])
async def reply(
    review_id: ReviewId, body: CustomerReply, actor: CustomerDep, session: SessionDep
) -> ReviewChanged:
    """The customer's reply to the vendor's response (once)."""
    return await service.reply(session, actor, review_id, body.reply)


@router.get("/vendors/{vendor_id}/reviews", response_model=ReviewList)
async def vendor_reviews(
    vendor_id: UserId,
    actor: ActorDep,
    session: SessionDep,
    cursor: Annotated[ReviewId | None, Query()] = None,
    limit: PageLimit = 20,
) -> ReviewList:
    """A vendor's published reviews, newest first.

    Customers and admins read any vendor's reviews. A vendor reads only its own: another
    vendor's id answers 404, exactly like an id that does not exist."""
    return await service.for_vendor(session, actor, vendor_id, limit=limit, cursor=cursor)


@router.get("/jobs/{job_id}/review", response_model=ReviewOwnView)
async def job_review(job_id: JobId, actor: ActorDep, session: SessionDep) -> ReviewOwnView:
    """The review of a job: its customer sees it with its moderation status; the vendor it is
    about sees it once published (to respond); 404 when there is none yet."""
    return await service.for_job(session, actor, job_id)
