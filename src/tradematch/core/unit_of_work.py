"""One unit of work outside HTTP (the scheduler, the worker, commands).

Requests get their transaction from ``TransactionalRoute`` (core/routing.py); everything else
uses ``unit_of_work``, which does the same: on success it writes the collected events
(``events.flush``, the last statement before COMMIT) and commits; on any error it discards the
events and rolls back, so nothing of a failed unit is left behind.

    async with unit_of_work(sessionmaker) as session:
        await leads.tasks.expire_offers(session, settings, job_id, now)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.core import compensation
from tradematch.events import service as events


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        try:
            yield session
            await events.flush(session)
            await session.commit()
            compensation.forget(session)
        except BaseException:
            events.discard_pending(session)
            await session.rollback()
            await compensation.undo(session)
            raise
