"""Hot statements sent by the driver (``kit/driver.py``) belong to the session's transaction: they
see what the unit of work wrote before them (pending rows included), and roll back or commit with
the rest."""

from __future__ import annotations

from typing import cast

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy import bindparam, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.flows.apps import eventually
from tests.flows.database import Database
from tradematch.accounts.models import LoginAttempt, User
from tradematch.core.outage import DatabaseUnavailable
from tradematch.events.unit_of_work import unit_of_work
from tradematch.kit.driver import DriverStatement
from tradematch.kit.ids import new_id

_RECORD = DriverStatement(
    insert(LoginAttempt).values(bucket=bindparam("bucket")).returning(LoginAttempt.id)
)
_COUNT = DriverStatement(
    select(func.count()).select_from(LoginAttempt).where(LoginAttempt.bucket == bindparam("bucket"))
)
_ROLE = DriverStatement(select(User.role).where(User.id == bindparam("user_id")))


async def _count(app: FastAPI, bucket: str) -> int:
    async with app.state.sessionmaker() as session:
        count: int = await _COUNT.fetchval(session, bucket=bucket)
        return count


async def test_a_driver_write_rolls_back_with_its_unit_of_work(fresh_app: FastAPI) -> None:
    bucket = new_id("evt")

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with unit_of_work(fresh_app.state.sessionmaker) as session:
            await _RECORD.fetchval(session, bucket=bucket)
            assert await _COUNT.fetchval(session, bucket=bucket) == 1  # inside: seen
            raise Refused
    assert await _count(fresh_app, bucket) == 0

    async with unit_of_work(fresh_app.state.sessionmaker) as session:
        await _RECORD.fetchval(session, bucket=bucket)
    assert await _count(fresh_app, bucket) == 1


async def test_orm_writes_and_driver_statements_share_one_transaction(fresh_app: FastAPI) -> None:
    """A row still pending in the session is flushed before the driver's statement reads it, and
    an ORM statement after it sees what the driver wrote."""
    bucket, user_id = new_id("evt"), new_id("usr")
    async with unit_of_work(fresh_app.state.sessionmaker) as session:
        session.add(
            User(
                id=user_id,
                email=f"{user_id}@example.com",
                password_hash="x",
                name="Pending Person",
                phone="07700 900000",
                postcode="SW1A 1AA",
                outcode="SW1A",
                role="customer",
            )
        )
        assert await _ROLE.fetchval(session, user_id=user_id) == "customer"
        await _RECORD.fetchval(session, bucket=bucket)
        seen = await session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.bucket == bucket)
        )
        assert seen == 1
        await session.rollback()
    assert await _count(fresh_app, bucket) == 0


def test_a_driver_statement_takes_exactly_its_parameters() -> None:
    statement = DriverStatement(select(User.id).where(User.id == bindparam("user_id")).limit(5))
    assert statement.arguments({"user_id": "usr_1"}) == ["usr_1", 5]  # the limit travels too
    with pytest.raises(TypeError):
        statement.arguments({})
    with pytest.raises(TypeError):
        statement.arguments({"user_id": "usr_1", "role": "admin"})


_BACKEND = DriverStatement(select(func.pg_backend_pid()))


async def test_a_connection_lost_under_a_driver_statement_is_an_outage_and_is_not_reused(
    fresh_app: FastAPI, fresh_db: Database
) -> None:
    """The connection is terminated between two statements: the second answers 503's error, and
    the pool hands out a working connection afterwards, never the broken one (asyncpg would
    report "another operation is in progress" on it for ever)."""
    with pytest.raises(DatabaseUnavailable):
        async with unit_of_work(fresh_app.state.sessionmaker) as session:
            lost = await _BACKEND.fetchval(session)
            admin = await fresh_db.connect()
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", lost)
            finally:
                await admin.close()
            await _BACKEND.fetchval(session)
    for _ in range(3):
        async with unit_of_work(fresh_app.state.sessionmaker) as session:
            assert await _BACKEND.fetchval(session) != lost


async def _terminate(fresh_db: Database, driver: asyncpg.Connection) -> int:
    """Terminate the backend of ``driver`` (an asyncpg connection of the app's pool) and wait
    until the server's goodbye has reached it; returns the backend's pid."""
    backend: int = driver.get_server_pid()
    admin = await fresh_db.connect()
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend)
    finally:
        await admin.close()

    async def noticed() -> bool:
        return bool(driver.is_closed())

    await eventually(noticed, seconds=10, what="the connection to see its end")
    return backend


async def _driver_of(session: AsyncSession) -> asyncpg.Connection:
    raw = await (await session.connection()).get_raw_connection()
    return cast(asyncpg.Connection, raw.driver_connection)


async def _every_connection_of_the_pool_works(app: FastAPI, lost: int) -> None:
    """More sessions, one after another, than the pool holds: each gets a live connection."""
    for _ in range(2 * POOL_AT_MOST):
        async with unit_of_work(app.state.sessionmaker) as session:
            assert await _BACKEND.fetchval(session) != lost


POOL_AT_MOST = 20  # create_engine's pool_size and max_overflow for the app, together


async def test_a_connection_lost_before_the_driver_begins_is_an_outage_and_is_not_reused(
    fresh_app: FastAPI, fresh_db: Database
) -> None:
    """The connection dies after the session took it and before its first statement, which the
    driver sends: the BEGIN fails. SQLAlchemy has no transaction to roll back there, so unless the
    failure invalidates the connection it goes back to the pool closed and fails every request
    that draws it (a database restart left the service answering 503s for good)."""
    invalidated: list[BaseException | None] = []
    engine = fresh_app.state.engine.sync_engine
    record = lambda _connection, _record, exc: invalidated.append(exc)  # noqa: E731
    event.listen(engine, "invalidate", record)
    with pytest.raises(DatabaseUnavailable):
        async with unit_of_work(fresh_app.state.sessionmaker) as session:
            lost = await _terminate(fresh_db, await _driver_of(session))
            await _BACKEND.fetchval(session)
    assert len(invalidated) == 1  # discarded at once, not left for the next checkout to find
    event.remove(engine, "invalidate", record)
    await _every_connection_of_the_pool_works(fresh_app, lost)


async def test_a_connection_lost_while_idle_in_the_pool_is_never_handed_out(
    fresh_app: FastAPI, fresh_db: Database
) -> None:
    """After a database restart every pooled connection is dead. Without a ping per checkout (a
    round trip per request), the pool still skips those the driver already knows are closed: no
    request fails for a connection that died while nobody was using it."""
    async with unit_of_work(fresh_app.state.sessionmaker) as session:
        driver = await _driver_of(session)
    lost = await _terminate(fresh_db, driver)
    await _every_connection_of_the_pool_works(fresh_app, lost)
