"""The hub's SQL, run on its own asyncpg connection (not the request pool).

``new_events`` is the one statement the hub runs per wake-up, whatever the number of sockets:
the events committed after the hub's cursor that any connected user may see, each with the
connected users in its audience. Its cost follows the new events and their audiences, not the
number of sockets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tradematch.events.models import EventRecord

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

_ACTIVE_ROLES = "SELECT id, role FROM users WHERE id = ANY($1::text[]) AND is_active"

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


async def active_roles(conn: Any, user_ids: Sequence[str]) -> dict[str, str]:
    """The role of each of ``user_ids`` whose account is still active."""
    rows = await conn.fetch(_ACTIVE_ROLES, list(user_ids))
    return {row["id"]: row["role"] for row in rows}
