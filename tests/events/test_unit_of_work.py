"""Events cannot be lost: a unit of work writes them before it commits, a session committed any
other way with unwritten events refuses to commit, a rollback takes them along, and a session
made without the notification outbox refuses to write events at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.flows.database import Database
from tradematch.authz.actor import SYSTEM
from tradematch.core.database import create_engine
from tradematch.events.log import UnflushedEvents, emit
from tradematch.events.types import EventType
from tradematch.events.unit_of_work import unit_of_work
from tradematch.sessions import create_sessionmaker


@pytest_asyncio.fixture
async def engine(worker_db: Database) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(worker_db.async_url, pool_size=2)
    yield engine
    await engine.dispose()


def _emit(session: AsyncSession, label: str) -> str:
    return emit(
        session,
        EventType.MESSAGES_READ,
        actor=SYSTEM,
        job_id=None,
        payload={"label": label},
        audience=[],
    )


async def _stored(db: Database, event_id: str) -> bool:
    conn = await db.connect()
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM event_log WHERE id = $1", event_id))
    finally:
        await conn.close()


async def test_a_unit_of_work_writes_its_events_at_commit(
    engine: AsyncEngine, worker_db: Database
) -> None:
    async with unit_of_work(create_sessionmaker(engine)) as session:
        event_id = _emit(session, "written")
    assert await _stored(worker_db, event_id)


async def test_committing_unwritten_events_any_other_way_fails(
    engine: AsyncEngine, worker_db: Database
) -> None:
    async with create_sessionmaker(engine)() as session:
        event_id = _emit(session, "forgotten")
        with pytest.raises(UnflushedEvents):
            await session.commit()
        await session.rollback()
    assert not await _stored(worker_db, event_id)

    with pytest.raises(UnflushedEvents):  # the context-manager style commits the same way
        async with create_sessionmaker(engine)() as session, session.begin():
            event_id = _emit(session, "forgotten too")
    assert not await _stored(worker_db, event_id)


async def test_a_failed_unit_leaves_no_event_behind(
    engine: AsyncEngine, worker_db: Database
) -> None:
    sessions = create_sessionmaker(engine)
    with pytest.raises(ZeroDivisionError):
        async with unit_of_work(sessions) as session:
            event_id = _emit(session, "rolled back")
            _ = 1 / 0
    assert not await _stored(worker_db, event_id)

    async with sessions() as session:  # a rollback forgets the events: the session commits again
        dropped = _emit(session, "dropped")
        await session.rollback()
        await session.commit()
    assert not await _stored(worker_db, dropped)


async def test_a_session_without_the_outbox_cannot_write_events(
    engine: AsyncEngine, worker_db: Database
) -> None:
    """Sessions made by hand have no notification queue: writing their events would drop the
    notifications, so it fails instead."""
    bare = async_sessionmaker(engine, expire_on_commit=False)
    with pytest.raises(RuntimeError, match="outbox"):
        async with unit_of_work(bare) as session:
            event_id = _emit(session, "no outbox")
    assert not await _stored(worker_db, event_id)
