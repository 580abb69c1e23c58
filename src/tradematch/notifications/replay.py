"""``tradematch events replay``: apply the notification rules again to a range of events.

Each event's kept context goes through the same rules and the recipients' current preferences.
A notification that exists already, for the same (event, recipient, channel), is left exactly
as it is (the unique constraint): nothing is sent twice, a sent one stays sent. What was
missing (a rule added since, a channel turned back on, rows lost) is queued, and, unless asked
not to, dead notifications of the range get a fresh set of attempts. Batches of events commit
one at a time, so a long replay holds no long transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tradematch.authz.actor import SYSTEM
from tradematch.events import service as events
from tradematch.events.unit_of_work import unit_of_work
from tradematch.notifications import queueing, repository

BATCH = 500


@dataclass(frozen=True)
class StoredEvent:
    id: str
    type: str
    actor_id: str | None
    context: dict[str, Any]


@dataclass
class ReplayReport:
    events: int = 0
    queued: int = 0
    revived: int = 0
    last_seq: int | None = None


async def replay(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    since: int,
    until: int | None = None,
    revive_dead: bool = True,
) -> ReplayReport:
    """Re-drive the notifications of events with ``since <= seq <= until``."""
    report = ReplayReport()
    after = since - 1
    while True:
        async with unit_of_work(sessionmaker) as session:
            records = await events.seen_by(session, SYSTEM, after=after, limit=BATCH)
            last_batch = len(records) < BATCH
            if until is not None and records and records[-1].seq > until:
                records, last_batch = [r for r in records if r.seq <= until], True
            if not records:
                break
            inputs = await repository.inputs_of(session, [r.id for r in records])
            stored = [StoredEvent(r.id, r.type, r.actor_id, inputs.get(r.id, {})) for r in records]
            planned = queueing.plan(stored, keep_inputs=False)
            report.queued += await queueing.write(session, planned)
            if revive_dead:
                report.revived += await repository.revive_dead(session, [e.id for e in stored])
        report.events += len(records)
        after = report.last_seq = records[-1].seq
        if last_batch:
            break
    return report
