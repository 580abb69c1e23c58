"""Every SQL statement on the event log (``event_log``, ``event_audience``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy import insert as sa_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import EventScope
from tradematch.events.models import EventAudience, EventRecord


async def feed(
    session: AsyncSession,
    scope: EventScope,
    *,
    after: int,
    limit: int,
    job_id: str | None = None,
) -> list[EventRecord]:
    """Events in scope after ``after``, in sequence order (optionally one job's)."""
    statement = select(EventRecord).where(EventRecord.seq > after, scope)
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
    """Every event (or one job's), chain by chain (job), in chain order — streamed."""
    statement = select(EventRecord).order_by(
        EventRecord.job_id.nulls_first(), EventRecord.chain_index
    )
    if job_id is not None:
        statement = statement.where(EventRecord.job_id == job_id)
    result = await session.stream_scalars(statement.execution_options(yield_per=batch))
    async for record in result:
        yield record


# Checkpoints (events/checkpoints.py): the chain heads, read in sequence order. Events commit in
# sequence order (the commit lock), so every event up to a committed ``max(seq)`` is visible to
# any later statement: bounding each read by the same ``upto`` makes them agree.


@dataclass(frozen=True, slots=True)
class Head:
    job_id: str | None
    chain_index: int
    seq: int
    hash: str


async def log_extent(session: AsyncSession) -> tuple[int, int]:
    """The highest committed sequence number (0 for an empty log) and the number of events."""
    row = (await session.execute(select(func.max(EventRecord.seq), func.count()))).one()
    return int(row[0] or 0), int(row[1])


async def count_upto(session: AsyncSession, upto: int) -> int:
    statement = select(func.count()).where(EventRecord.seq <= upto)
    return int((await session.execute(statement)).scalar_one())


async def heads_moved(session: AsyncSession, *, after: int, upto: int) -> list[Head]:
    """The head (last event) of every chain that gained an event in ``(after, upto]``."""
    statement = (
        select(EventRecord.job_id, EventRecord.chain_index, EventRecord.seq, EventRecord.hash)
        .where(EventRecord.seq > after, EventRecord.seq <= upto)
        .distinct(EventRecord.job_id)
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


# The write side: what ``log.flush`` runs, in this order, as the last statements before COMMIT.

EVENT_COMMIT_LOCK = 7_431_002
NOTIFY_CHANNEL = "tradematch_events"


async def lock_commit_order(session: AsyncSession) -> None:
    """Serialise the final step of every transaction that writes events, until its COMMIT
    ends: sequence numbers then become visible in the order they were drawn."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_COMMIT_LOCK})


async def draw_sequence_numbers(session: AsyncSession, count: int) -> list[int]:
    result = await session.execute(
        text("SELECT nextval('event_log_seq') FROM generate_series(1, :n)"), {"n": count}
    )
    return sorted(result.scalars())


async def chain_heads(
    session: AsyncSession, job_ids: set[str | None]
) -> dict[str | None, tuple[int, str | None]]:
    """The last (chain index, hash) of each job's chain (``None``: events without a job)."""
    heads: dict[str | None, tuple[int, str | None]] = {}
    for job_id in job_ids:
        condition = EventRecord.job_id.is_(None) if job_id is None else EventRecord.job_id == job_id
        row = (
            await session.execute(
                select(EventRecord.chain_index, EventRecord.hash)
                .where(condition)
                .order_by(EventRecord.chain_index.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            heads[job_id] = (row.chain_index, row.hash)
    return heads


async def insert(
    session: AsyncSession, events: list[dict[str, Any]], audience: list[dict[str, Any]]
) -> None:
    await session.execute(sa_insert(EventRecord), events)
    if audience:
        await session.execute(sa_insert(EventAudience), audience)


async def notify_listeners(session: AsyncSession, last_seq: int) -> None:
    """Wake every process LISTENing (the live-update hubs, the dispatchers) at COMMIT."""
    await session.execute(
        text("SELECT pg_notify(:channel, :seq)"), {"channel": NOTIFY_CHANNEL, "seq": str(last_seq)}
    )


# The live-update hub's statements, on its own asyncpg connection (not the request pool).
# ``new_events`` is the one statement the hub runs per wake-up, whatever the number of sockets:
# the events committed after the hub's cursor that any connected user may see, each with the
# connected users in its audience. Its cost follows the new events and their audiences, not the
# number of sockets.

# ``head`` is the highest committed sequence number in the statement's snapshot. Events commit
# in sequence order (events.log.flush), so every event up to ``head`` is visible in that
# same snapshot: the hub may move its cursor to ``head`` without ever skipping one.
_NEW_EVENTS = """
WITH head AS MATERIALIZED (SELECT max(seq) AS seq FROM event_log)
SELECT head.seq AS head, e.*
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
    head: int | None  # highest committed seq seen; None when the log is empty
    events: list[NewEvent]


async def new_events(
    conn: Any, *, after: int, user_ids: Sequence[str], everything: bool, limit: int
) -> NewEvents:
    """Events after ``after`` (up to the committed head) that one of ``user_ids`` may see, or
    all of them when ``everything`` (an administrator is connected); in sequence order."""
    rows = await conn.fetch(_NEW_EVENTS, after, list(user_ids), everything, limit)
    head = rows[0]["head"] if rows else None
    events = [
        NewEvent(
            record=EventRecord(**{column: row[column] for column in _EVENT_COLUMNS}),
            recipients=row["recipients"],
        )
        for row in rows
        if row["seq"] is not None
    ]
    return NewEvents(head=head, events=events)


async def last_seq(conn: Any) -> int | None:
    """The highest committed sequence number (None while the log is empty)."""
    head: int | None = await conn.fetchval("SELECT max(seq) FROM event_log")
    return head
