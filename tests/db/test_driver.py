"""Hot statements sent by the driver (``kit/driver.py``) belong to the session's transaction: they
see what the unit of work wrote before them (pending rows included), and roll back or commit with
the rest."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import bindparam, func, insert, select

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
