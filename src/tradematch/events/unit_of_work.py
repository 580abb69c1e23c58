"""The one way to open a writing transaction: requests (``TransactionalRoute``), the scheduler,
the dispatcher, web push, replays and commands all use it.

On success it writes the collected events (``events.log.flush``, the last statement before
COMMIT) and commits; on any error it rolls back, and the events go with the rest, so nothing of a
failed unit is left behind.

    async with unit_of_work(sessionmaker) as session:
        await leads.tasks.expire_offers(session, settings, job_id, now)

Reading needs no unit of work: ``async with sessionmaker() as session`` reads and rolls back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.core import outage
from tradematch.events import log

Sessionmaker = async_sessionmaker[AsyncSession]


@asynccontextmanager
async def unit_of_work(sessionmaker: Sessionmaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        try:
            yield session
            await log.flush(session)
            await session.flush()
            try:
                await session.commit()
            except Exception as exc:
                # Lost before COMMIT: everything rolled back. Lost during COMMIT: the outcome is
                # unknown, and the caller is told so a client retries with the same key.
                if not outage.is_database_unavailable(exc):
                    raise
                with contextlib.suppress(Exception):  # the connection is gone
                    await session.rollback()
                raise outage.CommitOutcomeUnknown() from exc
        except BaseException:
            await session.rollback()
            raise
