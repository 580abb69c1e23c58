"""Counting what a request sends to the database: every statement, BEGIN, COMMIT, ROLLBACK and
connection ping, on the application's own engine.

Statements are seen through SQLAlchemy (``before_cursor_execute``: one per execute, however many
rows it carries). What does not pass through a cursor (BEGIN, COMMIT, ROLLBACK, pings, and the
hot statements sent by the driver itself, ``kit/driver.py``) is seen by a query logger on each
pooled asyncpg connection (the engine's pool is emptied first, so every connection it opens from
then on is watched); asyncpg's own type lookups are left out. Only what runs in the counting
task is counted: the application's background loops (hub, dispatcher) are left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg.introspection
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_counting: ContextVar[list[str] | None] = ContextVar("statements_counted", default=None)


class Statements:
    """Watches an engine; ``count()`` collects what runs inside its block."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def attach(self) -> None:
        await self.engine.dispose()  # connections opened from now on get the query logger
        sync = self.engine.sync_engine
        event.listen(sync, "before_cursor_execute", _on_statement)
        event.listen(sync.pool, "connect", _on_connect)

    def detach(self) -> None:
        sync = self.engine.sync_engine
        event.remove(sync, "before_cursor_execute", _on_statement)
        event.remove(sync.pool, "connect", _on_connect)

    @asynccontextmanager
    async def count(self) -> AsyncIterator[list[str]]:
        seen: list[str] = []
        token = _counting.set(seen)
        try:
            yield seen
        finally:
            await asyncio.sleep(0)  # query-logger callbacks are scheduled with call_soon
            await asyncio.sleep(0)
            _counting.reset(token)


def _on_statement(
    _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    seen = _counting.get()
    if seen is not None:
        seen.append(" ".join(statement.split())[:120])


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    raw = dbapi_connection.driver_connection  # the asyncpg connection
    raw.add_query_logger(_on_raw_query)


# The driver's type lookups, run the first time a connection meets a type.
_INTROSPECTION = {
    getattr(asyncpg.introspection, name)
    for name in ("INTRO_LOOKUP_TYPES", "INTRO_LOOKUP_TYPES_13", "TYPE_BY_NAME")
    if hasattr(asyncpg.introspection, name)
}


def _on_raw_query(record: Any) -> None:
    """Statements the connection sent outside SQLAlchemy's cursors (which log nothing here):
    control statements, pings, and the driver's own (``kit/driver.py``)."""
    seen = _counting.get()
    if seen is None or record.query in _INTROSPECTION:
        return
    seen.append(" ".join(record.query.split())[:120] or ";")


CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "START", "SAVEPOINT", "RELEASE"}


def first_word(statement: str) -> str:
    return statement.strip().rstrip(";").split(" ")[0].upper()
