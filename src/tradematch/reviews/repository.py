"""Every SQL statement on reviews."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import ReviewScope
from tradematch.kit.repository import add as add
from tradematch.kit.repository import keyset_page, locking
from tradematch.reviews.models import Review

HELD_LISTED = 200  # the moderation queue shows this many, oldest first


async def get_for_update(
    session: AsyncSession, scope: ReviewScope, review_id: str
) -> Review | None:
    statement = select(Review).where(Review.id == review_id, scope)
    return (await session.execute(locking(statement))).scalar_one_or_none()


async def page_about_vendor(
    session: AsyncSession, scope: ReviewScope, vendor_id: str, *, after: str | None, limit: int
) -> list[Review]:
    """The vendor's reviews in scope, newest first (ids sort by time)."""
    statement = select(Review).where(Review.vendor_id == vendor_id, scope)
    result = await session.execute(keyset_page(statement, Review.id, after=after, limit=limit))
    return list(result.scalars())


async def held(session: AsyncSession, scope: ReviewScope) -> list[Review]:
    result = await session.execute(
        select(Review).where(Review.status == "held", scope).order_by(Review.id).limit(HELD_LISTED)
    )
    return list(result.scalars())


async def for_job(session: AsyncSession, scope: ReviewScope, job_id: str) -> Review | None:
    """The job's review (at most one), if it is in scope."""
    statement = select(Review).where(Review.job_id == job_id, scope)
    return (await session.execute(statement)).scalar_one_or_none()
