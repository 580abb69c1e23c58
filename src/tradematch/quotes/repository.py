"""Every SQL statement on quotes."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import QuoteScope
from tradematch.kit.repository import add as add
from tradematch.kit.repository import one_or_none
from tradematch.quotes.models import Quote


async def get(
    session: AsyncSession, scope: QuoteScope, quote_id: str, *, lock: bool = False
) -> Quote | None:
    statement = select(Quote).where(Quote.id == quote_id, scope)
    return await one_or_none(session, statement, lock=lock)


async def for_job(session: AsyncSession, scope: QuoteScope, job_id: str) -> list[Quote]:
    result = await session.execute(
        select(Quote).where(Quote.job_id == job_id, scope).order_by(Quote.id)
    )
    return list(result.scalars())


async def expire_pending_for_leads(session: AsyncSession, lead_ids: list[str]) -> list[str]:
    if not lead_ids:
        return []
    result = await session.execute(
        update(Quote)
        .where(Quote.lead_id.in_(lead_ids), Quote.status == "pending")
        .values(status="expired", decided_at=text("now()"))
        .returning(Quote.id)
    )
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
