"""The event log's write side: events collected during the transaction, written just before it
commits.

``emit()`` records an event in the caller's unit of work and returns its id at once (ids are
generated here, so responses can carry ``event_id``). ``flush()`` runs as the last step before
COMMIT, in one statement (the database function ``tm_append_events``): it gives the events their
positions, extends each job's hash chain, stores who may see each event, queues the
notifications, and signals listeners with NOTIFY.

An event's position (``seq``) is ``xid * 65536 + ordinal``: the id of the transaction that wrote
it, then its order within that transaction. Readers take only events below the horizon (the
oldest transaction still running, times 65536; ``tm_event_horizon()``), below which nothing can
still commit, so a reader that follows ``seq`` never skips an event that commits late, and no
lock is held across COMMIT but each extended chain's (per job). docs/decisions.md, "Event order
without a commit lock".

Events cannot be lost: every writing transaction is opened by ``events.unit_of_work`` (requests
through ``TransactionalRoute``), which flushes before it commits, and a session committed any
other way while it holds unwritten events refuses to commit (``UnflushedEvents``). A rollback
drops them with everything else.

Who gets notified is not this module's business: the session factory (``tradematch.sessions``)
hands every session an ``Outbox`` (the notification queue), and ``flush`` writes the rows it
plans in the same statement as the events, so notifications commit with their events or not at
all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from tradematch.authz.actor import SYSTEM, Actor
from tradematch.core.logging import bind_event_id
from tradematch.events import repository
from tradematch.events.chain import canonical_pieces
from tradematch.events.context import NotificationContext
from tradematch.events.repository import NOTIFY_CHANNEL
from tradematch.events.types import EventType
from tradematch.kit.driver import flush_pending
from tradematch.kit.ids import new_id

__all__ = [
    "NOTIFY_CHANNEL",
    "Outbox",
    "OutboxRows",
    "PendingEvent",
    "UnflushedEvents",
    "emit",
    "flush",
    "new_event_id",
]

OUTBOX = "tradematch.events.outbox"  # Session.info key: where flush() hands the events on
_PENDING = "tradematch.events.pending"
_IDEMPOTENCY_KEY = "tradematch.events.idempotency_key"


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
    context: NotificationContext = field(default_factory=lambda: NotificationContext())


Planned = TypeVar("Planned")


@dataclass(frozen=True)
class OutboxRows:
    """What the outbox adds beside the events, in the same statement: notification rows
    (``notifications``) and what their texts were made from (``notification_inputs``)."""

    notifications: list[dict[str, Any]]
    inputs: list[dict[str, Any]]


class Outbox(Protocol[Planned]):
    """What ``flush`` hands the transaction's events to (the notification queue).

    ``plan`` runs first (it may read); ``rows`` are then written with the events, in the
    statement that inserts them (the rows may refer to them). The notification queue reads
    nothing: the recipients' preferences are applied in that statement."""

    async def plan(self, session: AsyncSession, events: Sequence[PendingEvent]) -> Planned: ...

    def rows(self, planned: Planned) -> OutboxRows: ...


class UnflushedEvents(RuntimeError):
    """A session was committed with events it never wrote: commit through ``unit_of_work``."""


def new_event_id() -> str:
    """An event id drawn ahead of ``emit``, for rows written before the event that must name
    it (a ledger transaction names the event that caused it)."""
    return new_id("evt")


def emit(
    session: AsyncSession,
    type: EventType,
    *,
    actor: Actor,
    job_id: str | None,
    payload: dict[str, Any],
    audience: Iterable[str],
    context: NotificationContext | None = None,
    event_id: str | None = None,
) -> str:
    """Record an event in this transaction; return its id.

    ``payload`` must be fit for every member of ``audience`` (participants' user ids); admins
    see every event. Anything only admins may see goes under ``payload["admin"]``. ``context``
    feeds the notification texts (kept beside the log for replays, not in it). ``event_id``:
    one drawn by ``new_event_id`` (default: a new one).
    """
    pending = PendingEvent(
        id=event_id or new_event_id(),
        type=type,
        job_id=job_id,
        actor_id=actor.user_id,
        actor_role="system" if actor == SYSTEM else actor.role.value,
        payload=payload,
        audience=tuple(dict.fromkeys(audience)),
        idempotency_key=session.info.get(_IDEMPOTENCY_KEY),
        created_at=datetime.now(UTC),
        context=context or NotificationContext(),
    )
    if not session.in_transaction():
        # The events belong to a transaction: begin it (no I/O yet), so that its rollback,
        # whenever it comes, takes them along.
        session.sync_session.begin()
    session.info.setdefault(_PENDING, []).append(pending)
    bind_event_id(pending.id)
    return pending.id


def record_idempotency_key(session: AsyncSession, key: str) -> None:
    """Events emitted in this unit of work carry the request's idempotency key."""
    session.info[_IDEMPOTENCY_KEY] = key


async def flush(session: AsyncSession) -> None:
    """Write the transaction's events; call immediately before COMMIT (see module doc)."""
    pending: list[PendingEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    outbox: Outbox[Any] | None = session.info.get(OUTBOX)
    if outbox is None:
        raise RuntimeError("a session without an outbox: make sessions with tradematch.sessions")
    await flush_pending(session)
    extra = outbox.rows(await outbox.plan(session, pending))
    await repository.append(
        session,
        [_row(e) for e in pending],
        notifications=extra.notifications,
        inputs=extra.inputs,
    )


def _row(pending_event: PendingEvent) -> dict[str, Any]:
    """An event as ``tm_append_events`` takes it: its columns, its audience, and its canonical
    text in the pieces around what the database fills in (``events.chain``)."""
    created_at = pending_event.created_at.isoformat(timespec="microseconds")
    return {
        "id": pending_event.id,
        "type": pending_event.type.value,
        "job_id": pending_event.job_id,
        "actor_id": pending_event.actor_id,
        "actor_role": pending_event.actor_role,
        "payload": pending_event.payload,
        "idempotency_key": pending_event.idempotency_key,
        "created_at": created_at,
        "audience": list(pending_event.audience),
        "parts": canonical_pieces(
            event_id=pending_event.id,
            type=pending_event.type.value,
            job_id=pending_event.job_id,
            actor_id=pending_event.actor_id,
            actor_role=pending_event.actor_role,
            payload=pending_event.payload,
            idempotency_key=pending_event.idempotency_key,
            created_at=pending_event.created_at,
        ),
    }


@event.listens_for(Session, "before_commit")
def _refuse_to_lose_events(session: Session) -> None:
    if session.info.get(_PENDING):
        raise UnflushedEvents(
            f"{len(session.info[_PENDING])} event(s) emitted but never written: "
            "open writing sessions with tradematch.events.unit_of_work"
        )


@event.listens_for(Session, "after_soft_rollback")
def _drop_with_the_transaction(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the outermost transaction: its events went with it
        session.info.pop(_PENDING, None)
        session.info.pop(_IDEMPOTENCY_KEY, None)
