"""Every SQL statement on the per-actor denial counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import DenialScope
from tradematch.denials.models import DenialCount


async def add_denial_counts(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add counts to their (hour, actor, status) rows. ``rows`` must be sorted by that key: every
    process then locks rows in the same order, so concurrent flushes never deadlock."""
    if not rows:
        return
    statement = insert(DenialCount).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["hour", "actor_id", "status"],
        set_={
            "count": DenialCount.count + statement.excluded.count,
            "role": statement.excluded.role,
            "last_seen_at": func.greatest(
                DenialCount.last_seen_at, statement.excluded.last_seen_at
            ),
        },
    )
    await session.execute(statement)


async def denials_by_actor(
    session: AsyncSession, scope: DenialScope, status: int, since: datetime, limit: int
) -> list[Row[str, str, int, datetime]]:
    total = func.sum(DenialCount.count).label("denials")
    result = await session.execute(
        select(
            DenialCount.actor_id,
            func.max(DenialCount.role).label("role"),
            total,
            func.max(DenialCount.last_seen_at).label("last_seen_at"),
        )
        .where(DenialCount.status == status, DenialCount.hour >= since, scope)
        .group_by(DenialCount.actor_id)
        .order_by(total.desc(), DenialCount.actor_id)
        .limit(limit)
    )
    return list(result.all())


async def purge_denial_counts(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(DenialCount).where(DenialCount.hour < before))
    return int(getattr(result, "rowcount", 0) or 0)
