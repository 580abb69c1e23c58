"""The process's sessions: every table mapped, and the notification queue wired into the event
log, so that each unit of work's events queue their notifications in the same transaction.

Every process (the API, ``tradematch worker``, the commands) makes its sessions here; writing
transactions are then opened with ``events.unit_of_work``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tradematch.events.log import OUTBOX


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Register every table model: a flush resolves foreign keys through the metadata, and a
    # process that has imported only some domains (say, messages without quotes) fails there.
    import tradematch.tables  # noqa: F401
    from tradematch.notifications.queueing import NotificationQueue

    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, info={OUTBOX: NotificationQueue()}
    )
