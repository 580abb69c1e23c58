"""Pieces every repository uses: adding rows, reading one (locked or not), keyset pages,
advisory locks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, Select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import QueryableAttribute

Ts = TypeVarTuple("Ts")
Row = TypeVar("Row")


async def add(session: AsyncSession, row: Row) -> Row:
    """Insert the row now (flushed, so the database's defaults and checks apply here)."""
    session.add(row)
    await session.flush()
    return row


async def add_all(session: AsyncSession, rows: list[Row]) -> list[Row]:
    """Insert the rows now (flushed)."""
    session.add_all(rows)
    await session.flush()
    return rows


async def one_or_none(
    session: AsyncSession,
    statement: Select[Row],
    *,
    lock: bool = False,
    no_key_update: bool = False,
    skip_locked: bool = False,
) -> Row | None:
    """The one row ``statement`` reads, or None; with ``lock`` (or ``skip_locked``) a locking
    read (see ``locking``)."""
    if lock or skip_locked:
        statement = locking(statement, no_key_update=no_key_update, skip_locked=skip_locked)
    return (await session.execute(statement)).scalar_one_or_none()


def locking(
    statement: Select[*Ts], *, no_key_update: bool = False, skip_locked: bool = False
) -> Select[*Ts]:
    """``statement`` taking row locks (``FOR UPDATE``, or ``FOR NO KEY UPDATE``, which leaves
    foreign keys that point at the row free to be checked), optionally skipping rows another
    transaction holds.

    The rows are refreshed even if the session holds them already: a locking read must decide
    on the row as committed now, not as this session first loaded it."""
    return statement.with_for_update(
        key_share=no_key_update, skip_locked=skip_locked
    ).execution_options(populate_existing=True)


def keyset_page(
    statement: Select[*Ts],
    key: ColumnElement[Any] | QueryableAttribute[Any],
    *,
    after: Any | None,
    limit: int,
    descending: bool = True,
) -> Select[*Ts]:
    """One page of a keyset ("seek") pagination in ``key`` order, after the cursor ``after``:
    one row more than ``limit``, which tells ``kit.pagination.page`` that another page follows."""
    return seek(statement, key, after=after, limit=limit + 1, descending=descending)


def seek(
    statement: Select[*Ts],
    key: ColumnElement[Any] | QueryableAttribute[Any],
    *,
    after: Any | None,
    limit: int,
    descending: bool = False,
) -> Select[*Ts]:
    """At most ``limit`` rows in ``key`` order after ``after`` (a sweep's next batch)."""
    if after is not None:
        statement = statement.where(key < after if descending else key > after)
    return statement.order_by(key.desc() if descending else key.asc()).limit(limit)


# Advisory locks (no table: a name or a number that every process agrees on).


async def try_transaction_lock(session: AsyncSession, key: int) -> bool:
    """Take the advisory lock ``key`` until the transaction ends, unless another holds it."""
    result = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key})
    return bool(result.scalar_one())


async def transaction_lock(session: AsyncSession, name: str) -> None:
    """Wait for the advisory lock ``name`` and hold it until the transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": name}
    )


@asynccontextmanager
async def one_process_at_a_time(
    sessionmaker: async_sessionmaker[AsyncSession], name: str
) -> AsyncIterator[bool]:
    """A session-level advisory lock ``name`` for the length of the block, on a connection of
    its own in autocommit (no transaction stays open); released when the block ends or the
    process dies. Yields whether this process got it."""
    key = {"k": name}
    async with sessionmaker() as session:
        conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        mine = (
            await conn.execute(text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"), key)
        ).scalar_one()
        try:
            yield bool(mine)
        finally:
            if mine:
                try:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), key
                    )
                except BaseException:
                    # Never hand a connection still holding the lock back to the pool.
                    await conn.invalidate()
                    raise
