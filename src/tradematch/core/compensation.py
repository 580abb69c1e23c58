"""Undoing side effects outside the database when a unit of work rolls back.

Most of a request's work is undone by ROLLBACK. What it did elsewhere (a file written to the
upload store) registers an undo step here; the transactional route and ``unit_of_work`` run the
steps after rolling back, and forget them after a commit. A failing step is logged and the
others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_UNDO = "tradematch.undo_on_rollback"

Undo = Callable[[], Awaitable[None]]


def on_rollback(session: AsyncSession, undo: Undo) -> None:
    session.info.setdefault(_UNDO, []).append(undo)


def forget(session: AsyncSession) -> None:
    """The transaction committed: its side effects stay."""
    session.info.pop(_UNDO, None)


async def undo(session: AsyncSession) -> None:
    """The transaction rolled back: undo its side effects, latest first."""
    steps: list[Undo] = session.info.pop(_UNDO, [])
    for step in reversed(steps):
        try:
            await step()
        except Exception:
            log.exception("undoing a side effect of a rolled-back transaction failed")
