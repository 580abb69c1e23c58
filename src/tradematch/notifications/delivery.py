"""Delivering the outbox (for the dispatcher, ``worker/dispatcher.py``): claiming due
notifications and recording what became of them, each step a short unit of work of its own.

A claim takes due rows with ``FOR UPDATE SKIP LOCKED`` (concurrent workers never wait on each
other nor take the same row), counts the attempt, and leases the row by moving its
``next_attempt_at`` to the end of the lease: if the worker dies mid-send, the row simply becomes
due again when the lease runs out, and another worker claims it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.events.unit_of_work import unit_of_work
from tradematch.notifications import repository
from tradematch.notifications.channels.base import Delivery

SWEEP_LIMIT = 500
ERROR_MAX = 2000  # characters of a failure kept on the row

Sessions = async_sessionmaker[AsyncSession]


async def claim(
    sessions: Sessions, *, limit: int, lease_seconds: float, max_attempts: int
) -> list[Delivery]:
    async with unit_of_work(sessions) as session:
        rows = await repository.claim_due(
            session, limit=limit, lease_seconds=lease_seconds, max_attempts=max_attempts
        )
    return [Delivery(**row._asdict()) for row in rows]


async def deliver_in_app(sessions: Sessions) -> list[float]:
    """Mark due in-app notifications sent; return how long each waited (seconds)."""
    async with unit_of_work(sessions) as session:
        return await repository.deliver_in_app(session, limit=SWEEP_LIMIT)


async def park_exhausted(sessions: Sessions, *, max_attempts: int) -> list[str]:
    """Park as dead the rows whose final attempt never reported back; their channels."""
    async with unit_of_work(sessions) as session:
        return await repository.park_exhausted(
            session, limit=SWEEP_LIMIT, max_attempts=max_attempts
        )


async def mark_sent(sessions: Sessions, notification_id: str) -> float | None:
    """Record a delivery; how long the notification waited for it (seconds)."""
    async with unit_of_work(sessions) as session:
        return await repository.mark_sent(session, notification_id)


async def mark_failed(
    sessions: Sessions,
    delivery: Delivery,
    *,
    error: str,
    delay_seconds: float,
    max_attempts: int,
    final: bool = False,
) -> str | None:
    """Schedule the retry or park the row as dead; return the new status (None: the row was
    claimed again by another worker meanwhile, which now owns it)."""
    async with unit_of_work(sessions) as session:
        return await repository.mark_failed(
            session,
            delivery.id,
            attempts=delivery.attempts,
            error=error[:ERROR_MAX],
            delay_seconds=delay_seconds,
            max_attempts=max_attempts,
            final=final,
        )


async def put_back(sessions: Sessions, delivery: Delivery, *, delay_seconds: float) -> bool:
    """Undo the claim of a row whose send never began: due again after ``delay_seconds``, the
    attempt not counted and no error recorded. False if another worker owns it meanwhile."""
    async with unit_of_work(sessions) as session:
        return await repository.put_back(
            session, delivery.id, attempts=delivery.attempts, delay_seconds=delay_seconds
        )


async def dead_counts(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        return await repository.dead_counts(session)
