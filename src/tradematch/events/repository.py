"""Every SQL statement on the event log (``event_log``, ``event_audience``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy import select, text
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
    session: AsyncSession, batch: int = 1000
) -> AsyncIterator[EventRecord]:
    """Every event, chain by chain (job), in chain order — streamed."""
    statement = select(EventRecord).order_by(
        EventRecord.job_id.nulls_first(), EventRecord.chain_index
    )
    result = await session.stream_scalars(statement.execution_options(yield_per=batch))
    async for record in result:
        yield record


# The write side: what ``log.flush`` runs, in this order, as the last statements before COMMIT.

EVENT_COMMIT_LOCK = 7_431_002
NOTIFY_CHANNEL = "tradematch_events"


async def lock_commit_order(session: AsyncSession) -> None:
    """Serialise the final step of every transaction that writes events, until its COMMIT
    ends: sequence numbers then become visible in the order they were drawn."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_COMMIT_LOCK})


async def draw_sequence_numbers(session: AsyncSession, count: int) -> list[int]:
    result = await session.execute(
        text("SELECT nextval('event_log_seq') FROM generate_series(1, :n)"), {"n": count}
    )
    return sorted(result.scalars())


async def chain_heads(
    session: AsyncSession, job_ids: set[str | None]
) -> dict[str | None, tuple[int, str | None]]:
    """The last (chain index, hash) of each job's chain (``None``: events without a job)."""
    heads: dict[str | None, tuple[int, str | None]] = {}
    for job_id in job_ids:
        condition = EventRecord.job_id.is_(None) if job_id is None else EventRecord.job_id == job_id
        row = (
            await session.execute(
                select(EventRecord.chain_index, EventRecord.hash)
                .where(condition)
                .order_by(EventRecord.chain_index.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            heads[job_id] = (row.chain_index, row.hash)
    return heads


async def insert(
    session: AsyncSession, events: list[dict[str, Any]], audience: list[dict[str, Any]]
) -> None:
    await session.execute(sa_insert(EventRecord), events)
    if audience:
        await session.execute(sa_insert(EventAudience), audience)


async def notify_listeners(session: AsyncSession, last_seq: int) -> None:
    """Wake every process LISTENing (the live-update hubs, the dispatchers) at COMMIT."""
    await session.execute(
        text("SELECT pg_notify(:channel, :seq)"), {"channel": NOTIFY_CHANNEL, "seq": str(last_seq)}
    )
