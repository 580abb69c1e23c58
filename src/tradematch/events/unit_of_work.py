"""The one way to open a writing transaction: requests (``TransactionalRoute``), the scheduler,
the dispatcher, web push, replays and commands all use it.

On success it writes the collected events (``events.log.flush``, the last statement before
COMMIT) and commits; on any error it rolls back, and the events go with the rest, so nothing of a
failed unit is left behind.

    async with unit_of_work(sessionmaker) as session:
        await leads.tasks.expire_offers(session, settings, job_id, now)

Reading needs no unit of work: ``async with sessionmaker() as session`` reads and rolls back.

ROLLBACK undoes everything a unit did in the database. What it did elsewhere (a file written to
the upload store) registers an undo step with ``on_rollback``: the steps run, latest first, after
the unit rolled back, and are forgotten when it commits. A failing step is logged and the others
still run.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.core import outage
from tradematch.events import log
from tradematch.kit.driver import flush_pending

Sessionmaker = async_sessionmaker[AsyncSession]
Undo = Callable[[], Awaitable[None]]

logger = logging.getLogger(__name__)

_UNDO = "tradematch.undo_on_rollback"


def on_rollback(session: AsyncSession, undo: Undo) -> None:
    """Run ``undo`` if the unit of work that owns ``session`` rolls back (not if it commits)."""
    session.info.setdefault(_UNDO, []).append(undo)


async def _undo(session: AsyncSession) -> None:
    steps: list[Undo] = session.info.pop(_UNDO, [])
    for step in reversed(steps):
        try:
            await step()
        except Exception:
            logger.exception("undoing a side effect of a rolled-back transaction failed")


@asynccontextmanager
async def unit_of_work(sessionmaker: Sessionmaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        try:
            yield session
            await log.flush(session)
            await flush_pending(session)
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
            session.info.pop(_UNDO, None)
        except BaseException:
            try:
                await session.rollback()
            except Exception as lost:
                # The connection is gone, and the transaction with it: the error that ended the
                # unit is the one to report, not the rollback's.
                if not outage.is_database_unavailable(lost):
                    raise
            await _undo(session)
            raise
