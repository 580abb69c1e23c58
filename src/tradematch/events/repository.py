from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.events.models import EventAudience, EventRecord


async def feed(
    session: AsyncSession, user_id: str | None, *, after: int, limit: int, job_id: str | None = None
) -> list[EventRecord]:
    """Events after ``after`` in sequence order: the user's, or all (``user_id=None``)."""
    statement = select(EventRecord).where(EventRecord.seq > after)
    if user_id is not None:
        statement = statement.join(EventAudience, EventAudience.seq == EventRecord.seq).where(
            EventAudience.user_id == user_id
        )
    if job_id is not None:
        statement = statement.where(EventRecord.job_id == job_id)
    result = await session.execute(statement.order_by(EventRecord.seq).limit(limit))
    return list(result.scalars())


async def all_in_chain_order(
    session: AsyncSession, batch: int = 1000, *, job_id: str | None = None
) -> AsyncIterator[EventRecord]:
    """Every event (or one job's), chain by chain (job), in chain order — streamed."""
    statement = select(EventRecord).order_by(
        EventRecord.job_id.nulls_first(), EventRecord.chain_index
    )
    if job_id is not None:
        statement = statement.where(EventRecord.job_id == job_id)
    result = await session.stream_scalars(statement.execution_options(yield_per=batch))
    async for record in result:
        yield record
