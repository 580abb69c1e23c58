"""Refused requests per actor, for administrators (contract §6).

Counting must cost nothing on the request path, even when someone floods the API with guesses at
other users' ids, and must add up across every API process. So each process keeps a bounded
in-memory tally per (hour, actor, status) and a background task adds it to ``denial_counts``
every ``TRADEMATCH_DENIAL_FLUSH_SECONDS`` in one upsert (and once more at shutdown); the admin
endpoint writes its own process's tally first. Other processes' counts therefore arrive within
one flush period. A crash loses at most one period of counts of that process: acceptable for a
security signal, where the Prometheus counter (``tradematch_rbac_denials_total``) is the exact,
per-process record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import denial_counts_visible_to
from tradematch.core.outage import Outage, is_database_unavailable
from tradematch.denials import repository
from tradematch.denials.schemas import ActorDenials, DenialReport
from tradematch.events.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
OVERFLOW = "(overflow)"  # counts of new actors once the tally is full (a flood of many accounts)
MAX_KEYS = 10_000
COUNTED_STATUSES = frozenset({401, 403, 404})


@dataclass
class _Tally:
    role: str
    count: int
    last_seen_at: datetime


class DenialRecorder:
    """This process's counts since the last flush."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._tally: dict[tuple[datetime, str, int], _Tally] = {}
        # One flush at a time: the admin view flushes before it reads, and must not read while
        # the periodic flush holds counts it took but has not committed yet.
        self._flushing = asyncio.Lock()

    def record(self, actor_id: str | None, role: str | None, status: int) -> None:
        if status not in COUNTED_STATUSES:
            return
        now = datetime.now(UTC)
        hour = now.replace(minute=0, second=0, microsecond=0)
        key = (hour, actor_id or ANONYMOUS, status)
        if key not in self._tally and len(self._tally) >= self.max_keys:
            key = (hour, OVERFLOW, status)
            role = OVERFLOW
        tally = self._tally.get(key)
        if tally is None:
            self._tally[key] = _Tally(role or ANONYMOUS, 1, now)
        else:
            tally.count += 1
            tally.last_seen_at = now

    def pending(self) -> int:
        return sum(t.count for t in self._tally.values())

    def _take(self) -> list[dict[str, Any]]:
        taken, self._tally = self._tally, {}
        return [
            {
                "hour": hour,
                "actor_id": actor_id,
                "status": status,
                "role": tally.role,
                "count": tally.count,
                "last_seen_at": tally.last_seen_at,
            }
            for (hour, actor_id, status), tally in sorted(taken.items())
        ]

    def _give_back(self, rows: list[dict[str, Any]]) -> None:
        """A failed flush's counts go back into the tally, for the next attempt."""
        for row in rows:
            key = (row["hour"], row["actor_id"], row["status"])
            tally = self._tally.get(key)
            if tally is None:
                if len(self._tally) >= self.max_keys:
                    continue  # bounded: under sustained failure the oldest counts are dropped
                self._tally[key] = _Tally(row["role"], row["count"], row["last_seen_at"])
            else:
                tally.count += row["count"]
                tally.last_seen_at = max(tally.last_seen_at, row["last_seen_at"])

    async def flush(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        """Add the tally to the table; return how many denials were written. Returns only once
        every count taken before it, by this call or one already running, is committed."""
        async with self._flushing:
            rows = self._take()
            if not rows:
                return 0
            try:
                async with unit_of_work(sessionmaker) as session:
                    await repository.add_denial_counts(session, rows)
            except BaseException:
                self._give_back(rows)
                raise
            return sum(row["count"] for row in rows)

    async def run(
        self, sessionmaker: async_sessionmaker[AsyncSession], period: float, stop: asyncio.Event
    ) -> None:
        outage = Outage("denial counts")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=period)
            try:
                await self.flush(sessionmaker)
            except Exception as exc:
                if is_database_unavailable(exc):  # kept in memory; one line per outage
                    outage.failed(exc)
                else:
                    log.exception("could not write denial counts; retrying next period")
            else:
                outage.recovered()


@asynccontextmanager
async def recording(
    sessionmaker: async_sessionmaker[AsyncSession], period: float
) -> AsyncIterator[DenialRecorder]:
    """A recorder for the process's lifetime: its tally is written every ``period`` seconds and
    once more when the block ends."""
    recorder = DenialRecorder()
    stop = asyncio.Event()
    task = asyncio.create_task(recorder.run(sessionmaker, period, stop), name="denial-recorder")
    try:
        yield recorder
    finally:
        stop.set()
        await task  # its last iteration flushes what is left


async def purge_old(session: AsyncSession, retention_days: int) -> int:
    """Housekeeping: drop hourly counts older than the retention."""
    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    return await repository.purge_denial_counts(session, cutoff)


async def report(
    session: AsyncSession, actor: Actor, status: int, *, hours: int, limit: int
) -> DenialReport:
    """Refused requests per actor over the last ``hours`` (counted per hour), most refused
    first (admins only)."""
    require(actor, Role.ADMIN)
    since = (datetime.now(UTC) - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    rows = await repository.denials_by_actor(
        session, denial_counts_visible_to(actor), status, since, limit
    )
    return DenialReport(
        status=status,
        since=since,
        items=[
            ActorDenials(
                actor_id=row.actor_id,
                role=row.role,
                count=int(row.denials),
                last_seen_at=row.last_seen_at,
            )
            for row in rows
        ],
    )
