"""Hot statements, compiled once and sent by the driver in the session's own transaction.

A statement executed through the ORM session pays, every time, for the compiled-cache lookup,
the execution context, the result's processing and a greenlet switch: about five times what
asyncpg spends sending the same statement (docs/PERFORMANCE.md). For the few statements that
run on every request or every event (the actor's role, the message and lead-acceptance writes,
the event append), a repository declares a ``DriverStatement`` instead:

    _ACTIVE_ROLE = DriverStatement(
        select(User.role).where(User.id == bindparam("user_id"), User.is_active)
    )
    role = await _ACTIVE_ROLE.fetchval(session, user_id=user_id)

The statement is written with SQLAlchemy like any other (scopes included, as bound parameters),
compiled once, at import, to PostgreSQL's text, and sent on the asyncpg connection under the
session, inside the session's transaction: it sees what the unit of work wrote before it, and
rolls back or commits with the rest.

What the driver does not do, the caller gets as asyncpg gives it: rows are ``asyncpg.Record``
(values by column name or position), JSON goes in and comes out as text (the connection's codec,
set by SQLAlchemy's dialect), and PostgreSQL refusing a statement raises asyncpg's own error. A
connection lost or broken under a statement is closed at once and invalidated (the pool replaces
it), and the failure is ``DatabaseUnavailable`` (503). Pending ORM changes are flushed before the
statement runs, as the session's autoflush would.
"""

from __future__ import annotations

import contextlib
from typing import Any, cast

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from tradematch.core.outage import (
    DatabaseUnavailable,
    is_confused_connection,
    is_database_unavailable,
)

_DIALECT = AsyncpgDialect()  # type: ignore[no-untyped-call]
_DRIVER = "tradematch.kit.driver"  # Session.info: the _Held connection of its transaction


class DriverStatement:
    """A SQLAlchemy statement as PostgreSQL text with ``$n`` parameters, named as bound."""

    __slots__ = ("constants", "names", "required", "sql")

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            raise TypeError("a driver statement needs the dialect's positional parameters")
        self.sql = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup)
        # Values written into the statement (``count + 1``) travel as parameters too.
        self.constants = {
            name: bind.effective_value
            for name, bind in ((name, compiled.binds[name]) for name in self.names)
            if not bind.required
        }
        self.required = frozenset(self.names) - self.constants.keys()

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        if values.keys() != self.required:
            raise TypeError(f"parameters {sorted(values)} for a statement taking {self.names}")
        return [values[name] if name in values else self.constants[name] for name in self.names]

    async def fetch(self, session: AsyncSession, **values: Any) -> list[asyncpg.Record]:
        rows = await self._send(session, "fetch", values)
        return cast(list[asyncpg.Record], rows)

    async def fetchrow(self, session: AsyncSession, **values: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._send(session, "fetchrow", values)
        return row

    async def fetchval(self, session: AsyncSession, **values: Any) -> Any:
        return await self._send(session, "fetchval", values)

    async def _send(self, session: AsyncSession, method: str, values: dict[str, Any]) -> Any:
        arguments = self.arguments(values)
        held = await _held(session)
        try:
            if held.adapted._transaction is None:
                # SQLAlchemy's adapter begins its transaction lazily, with the first statement it
                # sends itself; a statement sent by the driver must not run outside it (a session
                # in autocommit gets none).
                await held.adapted._start_transaction()
            return await getattr(held.driver, method)(self.sql, *arguments)
        except BaseException as exc:
            await held.after_failure(exc)
            raise

    def __repr__(self) -> str:
        return f"DriverStatement({self.sql!r})"


async def flush_pending(session: AsyncSession) -> None:
    """Flush the session if it holds unsent changes (a flush of a clean session is not free:
    it crosses into SQLAlchemy's greenlet for nothing)."""
    sync = session.sync_session
    if sync.new or sync.dirty or sync.deleted:
        await session.flush()


class _Held:
    """The session's connection as the driver uses it: SQLAlchemy's (to invalidate), the
    adapter's (to begin the transaction) and asyncpg's (to send)."""

    __slots__ = ("adapted", "connection", "driver", "transaction")

    def __init__(self, transaction: object, connection: AsyncConnection, adapted: Any) -> None:
        self.transaction = transaction
        self.connection = connection
        self.adapted = adapted
        self.driver = cast(asyncpg.Connection, adapted.driver_connection)

    async def after_failure(self, exc: BaseException) -> None:
        """A statement sent by the driver failed. If PostgreSQL refused it (a constraint, say),
        the connection is fine and ``exc`` goes on as it is. Otherwise the connection is lost or
        was interrupted mid-operation (terminated, cancelled): it is closed at once and SQLAlchemy
        is told to discard it.

        SQLAlchemy discards a connection its own statement broke; it does not see the driver's.
        Kept, the connection would go back to the pool closed, or with asyncpg still waiting for
        the interrupted operation ("another operation is in progress"), and fail every request
        that drew it. A lost connection, or one in that confused state, is the database being
        away: 503 ``DATABASE_UNAVAILABLE``."""
        if isinstance(exc, asyncpg.PostgresError) and not is_database_unavailable(exc):
            return
        self.driver.terminate()  # at once, whatever happens to the await below
        with contextlib.suppress(Exception):
            await self.connection.invalidate(exc if isinstance(exc, Exception) else None)
        if is_confused_connection(exc) or is_database_unavailable(exc):
            raise DatabaseUnavailable() from exc


async def _held(session: AsyncSession) -> _Held:
    """The connection under ``session``'s current transaction, taken once per transaction."""
    sync = session.sync_session
    await flush_pending(session)  # what the session's autoflush would have sent first
    transaction = sync.get_transaction()
    held: _Held | None = session.info.get(_DRIVER)
    if held is None or transaction is None or held.transaction is not transaction:
        connection = await session.connection()
        adapted = (await connection.get_raw_connection()).dbapi_connection
        held = session.info[_DRIVER] = _Held(sync.get_transaction(), connection, adapted)
    return held
