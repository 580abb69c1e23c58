"""Reviews: the job's customer, once, after completion; moderated; the vendor responds once
and the customer replies once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import (
    ReviewScope,
    jobs_owned_by,
    published_reviews,
    reviews_about,
    reviews_written_by,
)
from tradematch.core.errors import Conflict, InvalidStateTransition, NotFound, ValidationFailed
from tradematch.events.audience import JobParties
from tradematch.events.context import for_parties
from tradematch.events.log import emit
from tradematch.events.types import EventType
from tradematch.jobs import service as jobs
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.pagination import page
from tradematch.messaging import service as messaging
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
from tradematch.vendors import service as vendors

POSTED_MESSAGE = "Review posted"
HELD_MESSAGE = "Review received; it will appear once a moderator has checked it"


class AlreadyAnswered(
    Conflict, code="ALREADY_ANSWERED", message="This has already been answered"
): ...


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


async def post(session: AsyncSession, actor: Actor, request: ReviewCreate) -> ReviewPosted:
    """One review per job: posting closes the job, so a second finds it closed (409); the
    unique index on ``reviews.job_id`` backs that up."""
    require(actor, Role.CUSTOMER)
    job = await jobs.lock(session, jobs_owned_by(actor), request.job_id)
    if job.status != "completed":
        raise InvalidStateTransition("job", job.status, "review")
    assert job.awarded_vendor_id is not None
    reason = hold_reason(request.feedback)
    jobs.change(job, "close", clock.now())
    review = await repository.add(
        session,
        Review(
            id=new_id("rev"),
            job_id=job.id,
            customer_id=job.customer_id,
            vendor_id=job.awarded_vendor_id,
            rating=request.rating,
            feedback=request.feedback,
            recommend=request.recommend_yes_no,
            status="held" if reason else "published",
            moderation_reason=reason,
        ),
    )
    if review.status == "published":
        await _published(session, actor, review)
    parties = [job.customer_id, job.awarded_vendor_id]
    context = for_parties(job.customer_id, job.awarded_vendor_id, rating=review.rating)
    event_id = emit(
        session,
        EventType.REVIEW_POSTED,
        actor=actor,
        job_id=job.id,
        payload={"review_id": review.id, "status": review.status, "rating": review.rating},
        audience=parties if review.status == "published" else [job.customer_id],
        context=context if review.status == "published" else for_parties(job.customer_id, None),
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


async def _published(session: AsyncSession, actor: Actor, review: Review) -> None:
    """A review became public: it counts in the vendor's rating, and the seed's system message
    "Review posted" goes into the (archived) conversation of the job. A held review stays out
    of the vendor's sight until a moderator publishes it, so the message waits for that too."""
    await vendors.add_rating(session, review.vendor_id, review.rating)
    await messaging.post_to_job(session, actor, review.job_id, review.vendor_id, POSTED_MESSAGE)


async def _locked_review(session: AsyncSession, scope: ReviewScope, review_id: str) -> Review:
    review = await repository.get_for_update(session, scope, review_id)
    if review is None:
        raise NotFound("Review not found")
    return review


def _clean(text: str) -> str:
    if hold_reason(text):
        raise ValidationFailed("Responses may not contain contact details or abusive language")
    return text


async def respond(session: AsyncSession, actor: Actor, review_id: str, text: str) -> ReviewChanged:
    """The vendor's public response, once, to a published review."""
    require(actor, Role.VENDOR)
    review = await _locked_review(
        session, reviews_about(actor) & (Review.status == "published"), review_id
    )
    if review.vendor_response is not None:
        raise AlreadyAnswered()
    review.vendor_response = _clean(text)
    review.vendor_responded_at = clock.now()
    return await _answered(session, actor, review, EventType.REVIEW_RESPONDED)


async def reply(session: AsyncSession, actor: Actor, review_id: str, text: str) -> ReviewChanged:
    """The customer's reply to the vendor's response, once."""
    require(actor, Role.CUSTOMER)
    review = await _locked_review(session, reviews_written_by(actor), review_id)
    if review.vendor_response is None:
        raise InvalidStateTransition("review", "awaiting_vendor_response", "reply")
    if review.customer_reply is not None:
        raise AlreadyAnswered()
    review.customer_reply = _clean(text)
    review.customer_replied_at = clock.now()
    return await _answered(session, actor, review, EventType.REVIEW_REPLIED)


async def _answered(
    session: AsyncSession, actor: Actor, review: Review, event: EventType
) -> ReviewChanged:
    await session.flush()
    parties = JobParties(review.job_id, review.customer_id, review.vendor_id)
    event_id = parties.emit(session, event, actor, {"review_id": review.id})
    return ReviewChanged(review_id=review.id, status=review.status, event_id=event_id)


async def moderate(
    session: AsyncSession, actor: Actor, review_id: str, decision: str, reason: str | None
) -> ReviewChanged:
    """Publish (approve) or reject a held review (admins)."""
    require(actor, Role.ADMIN)
    review = await _locked_review(session, reviews_about(actor), review_id)
    review.status = REVIEW.transition(review.status, decision)
    if reason:
        review.moderation_reason = reason
    await session.flush()
    if review.status == "published":
        await _published(session, actor, review)
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
        context=for_parties(review.customer_id, None),
    )
    return ReviewChanged(review_id=review.id, status=review.status, event_id=event_id)


async def for_vendor(
    session: AsyncSession, actor: Actor, vendor_id: str, *, limit: int, cursor: str | None
) -> ReviewList:
    """A vendor's published reviews, newest first: customers and admins read any vendor's; a
    vendor only its own (another vendor's id is a 404, as for any foreign object)."""
    if not await vendors.reviews_readable(session, actor, vendor_id):
        raise NotFound("Vendor not found")
    found = page(
        await repository.page_about_vendor(
            session, published_reviews(actor), vendor_id, after=cursor, limit=limit
        ),
        limit,
        lambda review: review.id,
    )
    return ReviewList(items=[public_view(r) for r in found.items], next_cursor=found.next_cursor)


async def held(session: AsyncSession, actor: Actor) -> list[ReviewOwnView]:
    """Reviews waiting for moderation (admins)."""
    require(actor, Role.ADMIN)
    return [own_view(r) for r in await repository.held(session, reviews_about(actor))]


async def for_job(session: AsyncSession, actor: Actor, job_id: str) -> ReviewOwnView:
    """The job's review: for the customer who wrote it (with its moderation status), the
    vendor it is about once it is published (to respond), and admins."""
    scope = (
        reviews_about(actor) & published_reviews(actor)
        if actor.is_vendor
        else reviews_written_by(actor)
    )
    review = await repository.for_job(session, scope, job_id)
    if review is None:
        raise NotFound("Review not found")
    return own_view(review)
