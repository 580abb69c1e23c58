"""Every SQL statement on the event log (``event_log``, ``event_audience``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import EventScope
from tradematch.events.models import EventRecord
from tradematch.kit.driver import DriverStatement


async def feed(
    session: AsyncSession,
    scope: EventScope,
    *,
    after: int,
    limit: int,
    job_id: str | None = None,
) -> list[EventRecord]:
    """Events in scope after ``after`` and below the horizon, in order (optionally one job's)."""
    statement = select(EventRecord).where(EventRecord.seq > after, EventRecord.seq < HORIZON, scope)
    if job_id is not None:
        statement = statement.where(EventRecord.job_id == job_id)
    result = await session.execute(statement.order_by(EventRecord.seq).limit(limit))
    return list(result.scalars())


async def any_of_job(session: AsyncSession, scope: EventScope, job_id: str) -> bool:
    """Whether the job has an event in scope (every job has one from its creation on)."""
    found = exists().where(EventRecord.job_id == job_id, scope)
    return bool((await session.execute(select(found))).scalar_one())


async def all_in_chain_order(
    session: AsyncSession, batch: int = 1000, *, job_id: str | None = None
) -> AsyncIterator[EventRecord]:
    """Every event (or one job's), chain by chain (job), in chain order, ``batch`` at a time.

    Keyset pages rather than a server-side cursor, so it reads in autocommit too (reading
    requests run so): first the events without a job, then the jobs' chains."""
    if job_id is None:
        last = 0
        while True:
            page = await _page(
                session,
                select(EventRecord)
                .where(EventRecord.job_id.is_(None), EventRecord.chain_index > last)
                .order_by(EventRecord.chain_index),
                batch,
            )
            for record in page:
                yield record
            if len(page) < batch:
                break
            last = page[-1].chain_index
    after: tuple[str, int] | None = None
    while True:
        statement = select(EventRecord).where(EventRecord.job_id.is_not(None))
        if job_id is not None:
            statement = statement.where(EventRecord.job_id == job_id)
        if after is not None:
            statement = statement.where(
                tuple_(EventRecord.job_id, EventRecord.chain_index) > tuple_(*after)
            )
        page = await _page(
            session, statement.order_by(EventRecord.job_id, EventRecord.chain_index), batch
        )
        for record in page:
            yield record
        if len(page) < batch:
            return
        last_record = page[-1]
        assert last_record.job_id is not None
        after = (last_record.job_id, last_record.chain_index)


# Checkpoints (events/checkpoints.py): the chain heads, read in log order up to the horizon.
# Below the horizon every event is committed or never will be, so every event up to the extent
# read here is visible to any later statement: bounding each read by the same ``upto`` makes
# them agree.


@dataclass(frozen=True, slots=True)
class Head:
    job_id: str | None
    chain_index: int
    seq: int
    hash: str


async def log_extent(session: AsyncSession) -> tuple[int, int]:
    """The highest position below the horizon (0 for an empty log) and the number of events up
    to it."""
    statement = select(func.max(EventRecord.seq), func.count()).where(EventRecord.seq < HORIZON)
    row = (await session.execute(statement)).one()
    return int(row[0] or 0), int(row[1])


async def count_upto(session: AsyncSession, upto: int) -> int:
    statement = select(func.count()).where(EventRecord.seq <= upto)
    return int((await session.execute(statement)).scalar_one())


async def heads_moved(session: AsyncSession, *, after: int, upto: int) -> list[Head]:
    """The head (last event) of every chain that gained an event in ``(after, upto]``."""
    statement = (
        select(EventRecord.job_id, EventRecord.chain_index, EventRecord.seq, EventRecord.hash)
        .where(EventRecord.seq > after, EventRecord.seq <= upto)
        .ext(distinct_on(EventRecord.job_id))
        .order_by(EventRecord.job_id, EventRecord.chain_index.desc())
    )
    return [Head(*row) for row in (await session.execute(statement)).all()]


_AT_POSITIONS = """
SELECT c.ord, e.seq, e.hash, (
    SELECT max(m.chain_index) FROM event_log m
     WHERE m.job_id = c.job_id OR (m.job_id IS NULL AND c.job_id IS NULL)
) AS last_index
FROM unnest(CAST(:jobs AS text[]), CAST(:indexes AS int[])) WITH ORDINALITY AS c(job_id, idx, ord)
LEFT JOIN event_log e
  ON (e.job_id = c.job_id OR (e.job_id IS NULL AND c.job_id IS NULL)) AND e.chain_index = c.idx
ORDER BY c.ord
"""


async def at_positions(
    session: AsyncSession, positions: Sequence[tuple[str | None, int]]
) -> list[tuple[int | None, str | None, int | None]]:
    """For each (job, chain index): the event there now (seq, hash; None when there is none)
    and the chain's last index now."""
    if not positions:
        return []
    result = await session.execute(
        text(_AT_POSITIONS),
        {"jobs": [job for job, _ in positions], "indexes": [index for _, index in positions]},
    )
    return [(row.seq, row.hash, row.last_index) for row in result]


async def _page(session: AsyncSession, statement: Any, batch: int) -> list[EventRecord]:
    return list((await session.execute(statement.limit(batch))).scalars())


# The write side: what ``log.flush`` runs as the last statement before COMMIT.

NOTIFY_CHANNEL = "tradematch_events"

# Below the horizon every event is committed or never will be (tm_event_horizon, in the
# migration ``0009``): readers stop there, so none ever skips an event that commits late.
HORIZON = text("tm_event_horizon()")

# Every writing transaction ends with it: compiled once, sent by the driver (kit/driver.py).
_APPEND = DriverStatement(
    text(
        "SELECT tm_append_events(CAST(:events AS jsonb), CAST(:notifications AS jsonb),"
        " CAST(:inputs AS jsonb), :channel)"
    )
)


async def append(
    session: AsyncSession,
    events: list[dict[str, Any]],
    *,
    notifications: list[dict[str, Any]],
    inputs: list[dict[str, Any]],
) -> int:
    """Write the events (positions, chains, audience), the outbox's rows and the NOTIFY in one
    round trip; the last event's position."""
    position: int = await _APPEND.fetchval(
        session,
        events=json.dumps(events),
        notifications=json.dumps(notifications),
        inputs=json.dumps(inputs),
        channel=NOTIFY_CHANNEL,
    )
    return position


# The live-update hub's statements, on its own asyncpg connection (not the request pool).
# ``new_events`` is the one statement the hub runs per wake-up, whatever the number of sockets:
# the events committed after the hub's cursor that any connected user may see, each with the
# connected users in its audience. Its cost follows the new events and their audiences, not the
# number of sockets.

# ``head`` is the last position below the horizon in the statement's snapshot: every event up
# to it is visible in that same snapshot, and none can still commit there, so the hub may move
# its cursor to ``head`` without ever skipping one. ``held`` says whether a committed event
# waits above the horizon (an older transaction is still open): the hub then polls again soon,
# since that transaction may end without a NOTIFY.
_NEW_EVENTS = """
WITH head AS MATERIALIZED (SELECT tm_event_horizon() - 1 AS seq)
SELECT head.seq AS head,
       EXISTS (SELECT 1 FROM event_log h WHERE h.seq > greatest($1, head.seq)) AS held,
       e.*
FROM head
LEFT JOIN LATERAL (
    SELECT x.*
    FROM (
        SELECT ev.seq, ev.id, ev.type, ev.job_id, ev.actor_id, ev.actor_role, ev.payload,
               ev.idempotency_key, ev.created_at, ev.chain_index, ev.prev_hash, ev.hash,
               ARRAY(
                   SELECT a.user_id FROM event_audience a
                   WHERE a.seq = ev.seq AND a.user_id = ANY($2::text[])
               ) AS recipients
        FROM event_log ev
        WHERE ev.seq > $1 AND ev.seq <= head.seq
    ) x
    WHERE $3 OR cardinality(x.recipients) > 0
    ORDER BY x.seq
    LIMIT $4
) e ON true
ORDER BY e.seq
"""

_EVENT_COLUMNS = (
    "seq",
    "id",
    "type",
    "job_id",
    "actor_id",
    "actor_role",
    "payload",
    "idempotency_key",
    "created_at",
    "chain_index",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True, slots=True)
class NewEvent:
    record: EventRecord
    recipients: Sequence[str]  # connected (non-admin) users in the event's audience


@dataclass(frozen=True, slots=True)
class NewEvents:
    head: int  # every event up to here has been seen (the horizon, less one)
    events: list[NewEvent]
    held: bool  # committed events wait above the horizon: an older transaction is open


async def new_events(
    conn: Any, *, after: int, user_ids: Sequence[str], everything: bool, limit: int
) -> NewEvents:
    """Events after ``after`` (up to the committed head) that one of ``user_ids`` may see, or
    all of them when ``everything`` (an administrator is connected); in sequence order."""
    rows = await conn.fetch(_NEW_EVENTS, after, list(user_ids), everything, limit)
    head, held = rows[0]["head"], rows[0]["held"]
    events = [
        NewEvent(
            record=EventRecord(**{column: row[column] for column in _EVENT_COLUMNS}),
            recipients=row["recipients"],
        )
        for row in rows
        if row["seq"] is not None
    ]
    return NewEvents(head=head, events=events, held=held)


async def horizon(conn: Any) -> int:
    """The last position below the horizon: no event can still commit at or before it."""
    head: int = await conn.fetchval("SELECT tm_event_horizon() - 1")
    return head
