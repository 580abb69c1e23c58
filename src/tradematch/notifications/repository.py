from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.notifications.models import Notification


async def queue(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows; (event, recipient, channel) is unique, so re-queueing is harmless."""
    statement = (
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(constraint="uq_notifications_event_user_channel")
    )
    await session.execute(statement)
