from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import QuoteScope
from tradematch.quotes.models import Quote


async def get(
    session: AsyncSession, scope: QuoteScope, quote_id: str, *, lock: bool = False
) -> Quote | None:
    statement = select(Quote).where(Quote.id == quote_id, scope)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def for_job(session: AsyncSession, job_id: str) -> list[Quote]:
    result = await session.execute(select(Quote).where(Quote.job_id == job_id).order_by(Quote.id))
    return list(result.scalars())


async def in_scope(
    session: AsyncSession, scope: QuoteScope, *, job_id: str | None, limit: int
) -> list[Quote]:
    """Quotes in scope, newest first, optionally of one job."""
    statement = select(Quote).where(scope)
    if job_id is not None:
        statement = statement.where(Quote.job_id == job_id)
    result = await session.execute(statement.order_by(Quote.id.desc()).limit(limit))
    return list(result.scalars())
