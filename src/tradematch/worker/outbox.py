"""The dispatcher's SQL: claiming due notifications and recording what became of them.

Every statement is its own short transaction. Outbox time is the database's ``now()``, one
clock for every worker process, so leases mean the same thing to all of them.

A claim takes due rows with ``FOR UPDATE SKIP LOCKED`` (concurrent workers never wait on each
other nor take the same row), counts the attempt, and leases the row by moving its
``next_attempt_at`` to the end of the lease: if the worker dies mid-send, the row simply becomes
due again when the lease runs out, and another worker claims it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.events.unit_of_work import unit_of_work
from tradematch.notifications.channels.base import Delivery

SWEEP_LIMIT = 500

_CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM notifications
        WHERE status = 'pending' AND channel <> 'in_app' AND next_attempt_at <= now()
          AND attempts < :max_attempts
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE notifications AS n
    SET attempts = n.attempts + 1,
        leased_until = now() + make_interval(secs => :lease),
        next_attempt_at = now() + make_interval(secs => :lease)
    FROM due, users AS u
    WHERE n.id = due.id AND u.id = n.user_id
    RETURNING n.id, n.event_id, n.user_id, n.channel, n.title, n.body, n.attempts,
              n.created_at, CASE WHEN u.is_active THEN u.email END AS email, u.name
    """
)

# In-app notifications are delivered by being in the database: due ones are simply marked sent.
_DELIVER_IN_APP = text(
    """
    UPDATE notifications SET status = 'sent', sent_at = now(), attempts = attempts + 1,
                             leased_until = NULL
    WHERE id IN (
        SELECT id FROM notifications
        WHERE status = 'pending' AND channel = 'in_app' AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING extract(epoch FROM now() - created_at) AS waited
    """
)

# Rows whose final attempt never reported back (the worker died during it).
_PARK_EXHAUSTED = text(
    """
    UPDATE notifications
    SET status = 'dead', leased_until = NULL,
        last_error = coalesce(last_error || '; ', '') || 'lease expired on the final attempt'
    WHERE id IN (
        SELECT id FROM notifications
        WHERE status = 'pending' AND next_attempt_at <= now() AND attempts >= :max_attempts
          AND channel <> 'in_app'
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING channel
    """
)

_MARK_SENT = text(
    """
    UPDATE notifications
    SET status = 'sent', sent_at = coalesce(sent_at, now()), leased_until = NULL,
        last_error = NULL
    WHERE id = :id
    RETURNING extract(epoch FROM now() - created_at) AS waited
    """
)

# Only the claim that made this attempt may record its failure (``attempts`` fences it): if the
# lease ran out and another worker claimed the row meanwhile, that worker decides.
_MARK_FAILED = text(
    """
    UPDATE notifications
    SET status = CASE WHEN :final OR attempts >= :max_attempts THEN 'dead' ELSE 'pending' END,
        next_attempt_at = now() + make_interval(secs => :delay),
        leased_until = NULL,
        last_error = :error
    WHERE id = :id AND status = 'pending' AND attempts = :attempts
    RETURNING status
    """
)

_DEAD_COUNTS = text(
    "SELECT channel, count(*) AS dead FROM notifications WHERE status = 'dead' GROUP BY channel"
)

Sessions = async_sessionmaker[AsyncSession]


async def claim(
    sessions: Sessions, *, limit: int, lease_seconds: float, max_attempts: int
) -> list[Delivery]:
    params = {"limit": limit, "lease": lease_seconds, "max_attempts": max_attempts}
    async with unit_of_work(sessions) as session:
        rows = (await session.execute(_CLAIM, params)).all()
    return [Delivery(**row._asdict()) for row in rows]


async def deliver_in_app(sessions: Sessions) -> list[float]:
    """Mark due in-app notifications sent; return how long each waited (seconds)."""
    async with unit_of_work(sessions) as session:
        rows = (await session.execute(_DELIVER_IN_APP, {"limit": SWEEP_LIMIT})).all()
    return [float(row.waited) for row in rows]


async def park_exhausted(sessions: Sessions, *, max_attempts: int) -> list[str]:
    params = {"limit": SWEEP_LIMIT, "max_attempts": max_attempts}
    async with unit_of_work(sessions) as session:
        rows = (await session.execute(_PARK_EXHAUSTED, params)).all()
    return [row.channel for row in rows]


async def mark_sent(sessions: Sessions, notification_id: str) -> float | None:
    async with unit_of_work(sessions) as session:
        waited = await session.scalar(_MARK_SENT, {"id": notification_id})
    return None if waited is None else float(waited)


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
    params: dict[str, Any] = {
        "id": delivery.id,
        "attempts": delivery.attempts,
        "error": error[:2000],
        "delay": delay_seconds,
        "max_attempts": max_attempts,
        "final": final,
    }
    async with unit_of_work(sessions) as session:
        status: str | None = await session.scalar(_MARK_FAILED, params)
    return status


async def dead_counts(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        rows = (await session.execute(_DEAD_COUNTS)).all()
    return {row.channel: int(row.dead) for row in rows}
