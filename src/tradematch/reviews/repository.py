"""SQL of the reviews domain that is not part of a locked write (those stay in service.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import ReviewScope
from tradematch.reviews.models import Review


async def for_job(
    session: AsyncSession, scope: ReviewScope, job_id: str, *, published_only: bool
) -> Review | None:
    """The job's review (at most one), if it is in scope."""
    statement = select(Review).where(Review.job_id == job_id, scope)
    if published_only:
        statement = statement.where(Review.status == "published")
    return (await session.execute(statement)).scalar_one_or_none()
