"""Reviews: the job's customer, once, after completion; moderated; the vendor responds once
and the customer replies once."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import VendorProfile
from tradematch.authz.actor import Actor
from tradematch.authz.scopes import jobs_owned_by, reviews_about, reviews_written_by
from tradematch.core.errors import Conflict, InvalidStateTransition, NotFound, ValidationFailed
from tradematch.events.service import emit
from tradematch.events.types import EventType
from tradematch.jobs import repository as jobs
from tradematch.jobs.states import JOB
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.reviews import repository
from tradematch.reviews.models import Review
from tradematch.reviews.moderation import hold_reason
from tradematch.reviews.schemas import (
    ReviewChanged,
    ReviewCreate,
    ReviewList,
    ReviewOwnView,
    ReviewPosted,
    ReviewView,
)
from tradematch.reviews.states import REVIEW

POSTED_MESSAGE = "Review posted"
HELD_MESSAGE = "Review received; it will appear once a moderator has checked it"


class AlreadyReviewed(Conflict):
    code = "ALREADY_REVIEWED"
    message = "This job already has a review"


class AlreadyAnswered(Conflict):
    code = "ALREADY_ANSWERED"
    message = "This has already been answered"


def public_view(review: Review) -> ReviewView:
    return ReviewView(
        review_id=review.id,
        vendor_id=review.vendor_id,
        rating=review.rating,
        feedback=review.feedback,
        recommend_yes_no=review.recommend,
        vendor_response=review.vendor_response,
        customer_reply=review.customer_reply,
        created_at=review.created_at,
    )


def own_view(review: Review) -> ReviewOwnView:
    return ReviewOwnView(
        **dict(public_view(review)),
        job_id=review.job_id,
        status=review.status,
        moderation_reason=review.moderation_reason,
    )


async def _add_to_rating(session: AsyncSession, review: Review) -> None:
    await session.execute(
        update(VendorProfile)
        .where(VendorProfile.user_id == review.vendor_id)
        .values(
            rating_count=VendorProfile.rating_count + 1,
            rating_total=VendorProfile.rating_total + review.rating,
        )
    )


async def post(session: AsyncSession, actor: Actor, request: ReviewCreate) -> ReviewPosted:
    job = await jobs.get(session, jobs_owned_by(actor), request.job_id, lock=True)
    if job is None:
        raise NotFound("Job not found")
    if job.status != "completed":
        raise InvalidStateTransition("job", job.status, "review")
    existing = await session.execute(select(Review.id).where(Review.job_id == job.id))
    if existing.first() is not None:
        raise AlreadyReviewed()
    assert job.awarded_vendor_id is not None
    reason = hold_reason(request.feedback)
    review = Review(
        id=new_id("rev"),
        job_id=job.id,
        customer_id=job.customer_id,
        vendor_id=job.awarded_vendor_id,
        rating=request.rating,
        feedback=request.feedback,
        recommend=request.recommend_yes_no,
        status="held" if reason else "published",
        moderation_reason=reason,
    )
    session.add(review)
    job.status = JOB.transition(job.status, "close")
    job.closed_at = clock.now()
    await session.flush()
    if review.status == "published":
        await _add_to_rating(session, review)
    parties = [job.customer_id, job.awarded_vendor_id]
    context = {
        "customer_id": job.customer_id,
        "vendor_id": job.awarded_vendor_id,
        "rating": review.rating,
    }
    event_id = emit(
        session,
        EventType.REVIEW_POSTED,
        actor=actor,
        job_id=job.id,
        payload={"review_id": review.id, "status": review.status, "rating": review.rating},
        audience=parties if review.status == "published" else [job.customer_id],
        context=context if review.status == "published" else {"customer_id": job.customer_id},
    )
    emit(
        session,
        EventType.JOB_CLOSED,
        actor=actor,
        job_id=job.id,
        payload={"status": job.status},
        audience=parties,
    )
    message = POSTED_MESSAGE if review.status == "published" else HELD_MESSAGE
    return ReviewPosted(
        review_id=review.id, status=review.status, event_id=event_id, message=message
    )


async def _locked_review(session: AsyncSession, scope: object, review_id: str) -> Review:
    result = await session.execute(
        select(Review)
        .where(Review.id == review_id, scope)  # type: ignore[arg-type]
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    review = result.scalar_one_or_none()
    if review is None:
        raise NotFound("Review not found")
    return review


def _clean(text: str) -> str:
    if hold_reason(text):
        raise ValidationFailed("Responses may not contain contact details or abusive language")
    return text


async def respond(session: AsyncSession, actor: Actor, review_id: str, text: str) -> ReviewChanged:
    """The vendor's public response, once, to a published review."""
    review = await _locked_review(
        session, reviews_about(actor) & (Review.status == "published"), review_id
    )
    if review.vendor_response is not None:
        raise AlreadyAnswered()
    review.vendor_response = _clean(text)
    review.vendor_responded_at = clock.now()
    await session.flush()
    event_id = emit(
        session,
        EventType.REVIEW_RESPONDED,
        actor=actor,
        job_id=review.job_id,
        payload={"review_id": review.id},
        audience=[review.customer_id, review.vendor_id],
        context={"customer_id": review.customer_id, "vendor_id": review.vendor_id},
    )
    return ReviewChanged(review_id=review.id, status=review.status, event_id=event_id)


async def reply(session: AsyncSession, actor: Actor, review_id: str, text: str) -> ReviewChanged:
    """The customer's reply to the vendor's response, once."""
    review = await _locked_review(session, reviews_written_by(actor), review_id)
    if review.vendor_response is None:
        raise InvalidStateTransition("review", "awaiting_vendor_response", "reply")
    if review.customer_reply is not None:
        raise AlreadyAnswered()
    review.customer_reply = _clean(text)
    review.customer_replied_at = clock.now()
    await session.flush()
    event_id = emit(
        session,
        EventType.REVIEW_REPLIED,
        actor=actor,
        job_id=review.job_id,
        payload={"review_id": review.id},
        audience=[review.customer_id, review.vendor_id],
        context={"customer_id": review.customer_id, "vendor_id": review.vendor_id},
    )
    return ReviewChanged(review_id=review.id, status=review.status, event_id=event_id)


async def moderate(
    session: AsyncSession, actor: Actor, review_id: str, decision: str, reason: str | None
) -> ReviewChanged:
    review = await _locked_review(session, reviews_about(actor), review_id)
    review.status = REVIEW.transition(review.status, decision)
    if reason:
        review.moderation_reason = reason
    await session.flush()
    if review.status == "published":
        await _add_to_rating(session, review)
    audience = (
        [review.customer_id, review.vendor_id]
        if review.status == "published"
        else [review.customer_id]
    )
    event_id = emit(
        session,
        EventType.REVIEW_MODERATED,
        actor=actor,
        job_id=review.job_id,
        payload={"review_id": review.id, "status": review.status},
        audience=audience,
        context={"customer_id": review.customer_id},
    )
    return ReviewChanged(review_id=review.id, status=review.status, event_id=event_id)


async def for_vendor(
    session: AsyncSession, vendor_id: str, *, limit: int, cursor: str | None
) -> ReviewList:
    exists = await session.execute(
        select(VendorProfile.user_id).where(VendorProfile.user_id == vendor_id)
    )
    if exists.first() is None:
        raise NotFound("Vendor not found")
    statement = select(Review).where(Review.vendor_id == vendor_id, Review.status == "published")
    if cursor is not None:
        statement = statement.where(Review.id < cursor)
    found = list(
        (await session.execute(statement.order_by(Review.id.desc()).limit(limit + 1))).scalars()
    )
    more = len(found) > limit
    found = found[:limit]
    return ReviewList(
        items=[public_view(r) for r in found], next_cursor=found[-1].id if more else None
    )


async def held(session: AsyncSession) -> list[ReviewOwnView]:
    result = await session.execute(
        select(Review).where(Review.status == "held").order_by(Review.id).limit(200)
    )
    return [own_view(r) for r in result.scalars()]


async def for_job(session: AsyncSession, actor: Actor, job_id: str) -> ReviewOwnView:
    """The job's review: for the customer who wrote it (with its moderation status), the
    vendor it is about once it is published, and admin."""
    if actor.is_vendor:
        review = await repository.for_job(
            session, reviews_about(actor), job_id, published_only=True
        )
    else:
        review = await repository.for_job(
            session, reviews_written_by(actor), job_id, published_only=False
        )
    if review is None:
        raise NotFound("Review not found")
    return own_view(review)
