from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from tradematch.kit.ids import JobId
from tradematch.kit.schemas import LongText, Reason, RequestModel, ResponseModel
from tradematch.kit.text import NoContactDetails
from tradematch.reviews.states import ReviewStatus


class ReviewCreate(RequestModel):
    job_id: JobId
    rating: Annotated[int, Field(ge=1, le=5, strict=True)]
    feedback: LongText | None = None
    recommend_yes_no: bool


# Published to every signed-in user, unmoderated, and never editable: refused (422). (The review's
# own feedback is held for moderation instead; see reviews/moderation.py.)
PublicAnswer = Annotated[LongText, NoContactDetails]


class VendorResponse(RequestModel):
    response: PublicAnswer


class CustomerReply(RequestModel):
    reply: PublicAnswer


class Moderate(RequestModel):
    decision: Literal["approve", "reject"]
    reason: Reason | None = None


class ReviewView(ResponseModel):
    """A published review as anyone signed in sees it: no customer identity and no job (a vendor
    who lost a job must not find it, and its winner, in another vendor's reviews)."""

    review_id: str
    vendor_id: str
    rating: int
    feedback: str | None
    recommend_yes_no: bool
    vendor_response: str | None
    customer_reply: str | None
    created_at: datetime


class ReviewOwnView(ReviewView):
    """The review's author, its vendor and admins also see its job and moderation state."""

    job_id: str
    status: ReviewStatus
    moderation_reason: str | None


class ReviewList(ResponseModel):
    items: list[ReviewView]
    next_cursor: str | None


class ReviewPosted(ResponseModel):
    review_id: str
    status: ReviewStatus
    event_id: str
    message: str


class ReviewChanged(ResponseModel):
    review_id: str
    status: ReviewStatus
    event_id: str
