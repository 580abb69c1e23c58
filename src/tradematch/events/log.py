"""Emitting events: collected during the transaction, written just before it commits.

``emit()`` records an event in the caller's unit of work and returns its id at once (ids are
generated here, so responses can carry ``event_id``). ``flush()`` runs as the last step before
COMMIT, under a transaction-scoped advisory lock: it draws the events' global sequence numbers,
extends each job's hash chain, stores who may see each event, queues the notifications, and
signals listeners with NOTIFY. Because the lock is held until COMMIT, sequence numbers become
visible in the order they were drawn: a reader that follows ``seq`` can never skip an event that
commits late. The lock covers only that last step, so concurrent requests overlap everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import SYSTEM, Actor
from tradematch.core.logging import bind_event_id
from tradematch.events.chain import event_hash
from tradematch.events.models import EventAudience, EventRecord
from tradematch.events.types import EventType
from tradematch.kit.ids import new_id
from tradematch.notifications import queueing

EVENT_COMMIT_LOCK = 7_431_002
NOTIFY_CHANNEL = "tradematch_events"
_PENDING = "pending_events"


@dataclass
class PendingEvent:
    id: str
    type: EventType
    job_id: str | None
    actor_id: str | None
    actor_role: str
    payload: dict[str, Any]
    audience: tuple[str, ...]
    idempotency_key: str | None
    created_at: datetime
    context: dict[str, Any] = field(default_factory=dict)


def emit(
    session: AsyncSession,
    type: EventType,
    *,
    actor: Actor,
    job_id: str | None,
    payload: dict[str, Any],
    audience: Iterable[str],
    context: dict[str, Any] | None = None,
) -> str:
    """Record an event in this transaction; return its id.

    ``payload`` must be fit for every member of ``audience`` (participants' user ids); admins
    see every event. Anything only admins may see goes under ``payload["admin"]``. ``context``
    feeds the notification texts (kept beside the log for replays, not in it).
    """
    event = PendingEvent(
        id=new_id("evt"),
        type=type,
        job_id=job_id,
        actor_id=actor.user_id,
        actor_role="system" if actor == SYSTEM else actor.role.value,
        payload=payload,
        audience=tuple(dict.fromkeys(audience)),
        idempotency_key=session.info.get("idempotency_key"),
        created_at=datetime.now(UTC),
        context=context or {},
    )
    session.info.setdefault(_PENDING, []).append(event)
    bind_event_id(event.id)
    return event.id


def has_pending(session: AsyncSession) -> bool:
    return bool(session.info.get(_PENDING))


def discard_pending(session: AsyncSession) -> None:
    session.info.pop(_PENDING, None)


async def flush(session: AsyncSession) -> None:
    """Write the transaction's events; call immediately before COMMIT (see module doc)."""
    pending: list[PendingEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    await session.flush()
    # Preferences are read before the lock: it covers only sequencing, chaining and writing.
    notifications = await queueing.plan(session, pending)
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_COMMIT_LOCK})
    seqs = sorted(
        (
            await session.execute(
                text("SELECT nextval('event_log_seq') FROM generate_series(1, :n)"),
                {"n": len(pending)},
            )
        ).scalars()
    )
    heads = await _chain_heads(session, {e.job_id for e in pending})
    rows: list[dict[str, Any]] = []
    audience_rows: list[dict[str, Any]] = []
    for seq, event in zip(seqs, pending, strict=True):
        index, prev_hash = heads.get(event.job_id, (0, None))
        content: dict[str, Any] = {
            "seq": seq,
            "event_id": event.id,
            "type": event.type.value,
            "job_id": event.job_id,
            "actor_id": event.actor_id,
            "actor_role": event.actor_role,
            "payload": event.payload,
            "idempotency_key": event.idempotency_key,
            "created_at": event.created_at,
            "chain_index": index + 1,
            "prev_hash": prev_hash,
        }
        digest = event_hash(**content)
        heads[event.job_id] = (index + 1, digest)
        content["id"] = content.pop("event_id")
        rows.append({**content, "hash": digest})
        audience_rows.extend({"user_id": u, "seq": seq} for u in event.audience)
    await session.execute(insert(EventRecord), rows)
    if audience_rows:
        await session.execute(insert(EventAudience), audience_rows)
    await queueing.write(session, notifications)
    await session.execute(
        text("SELECT pg_notify(:channel, :seq)"), {"channel": NOTIFY_CHANNEL, "seq": str(seqs[-1])}
    )


async def _chain_heads(
    session: AsyncSession, job_ids: set[str | None]
) -> dict[str | None, tuple[int, str | None]]:
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
