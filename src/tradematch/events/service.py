"""Reading the event log as a given user may see it: their feed, a job's history, the admin's
whole log and one job's chain verification, and the masked view of one event (also what the
live-update socket sends)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import events_visible_to
from tradematch.core.errors import NotFound
from tradematch.events import repository
from tradematch.events.models import EventRecord
from tradematch.events.repository import NewEvent as NewEvent  # what the live-update hub reads
from tradematch.events.repository import NewEvents
from tradematch.events.schemas import (
    EVENT_VIEW,
    AdminEventPage,
    AdminEventView,
    ChainBreak,
    ChainVerification,
    EventBase,
    EventPage,
)
from tradematch.events.types import EventType
from tradematch.events.verify import verify_chains
from tradematch.kit.money import pence_to_pounds


def masked_payload(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Participants' view of a payload: the ``admin`` part removed, in today's shape.

    Events are never rewritten (the hash chain covers them), so events written before payloads
    spoke pounds and called a message's type ``type`` are shown as they would be written now:
    ``<name>_pence`` becomes ``<name>`` in pounds, a MESSAGE_SENT's ``kind`` becomes ``type``
    (docs/decisions.md)."""
    shown: dict[str, Any] = {}
    for key, value in payload.items():
        if key == "admin":
            continue
        if key.endswith("_pence") and isinstance(value, int) and not isinstance(value, bool):
            shown.setdefault(key.removesuffix("_pence"), pence_to_pounds(value))
        elif key == "kind" and event_type == EventType.MESSAGE_SENT:
            shown.setdefault("type", value)
        else:
            shown[key] = value
    return shown


def view_for(actor: Actor, record: EventRecord) -> EventBase:
    if actor.is_admin:
        return admin_view(record)
    return EVENT_VIEW.validate_python(
        {
            "event_id": record.id,
            "seq": record.seq,
            "type": record.type,
            "job_id": record.job_id,
            "actor_role": record.actor_role,
            "actor_id": record.actor_id if record.actor_id == actor.user_id else None,
            "payload": masked_payload(record.type, record.payload),
            "created_at": record.created_at,
        }
    )


def admin_view(record: EventRecord) -> AdminEventView:
    return AdminEventView(
        event_id=record.id,
        seq=record.seq,
        type=record.type,
        job_id=record.job_id,
        actor_role=record.actor_role,
        actor_id=record.actor_id,
        payload=record.payload,
        created_at=record.created_at,
        idempotency_key=record.idempotency_key,
        chain_index=record.chain_index,
        prev_hash=record.prev_hash,
        hash=record.hash,
    )


async def seen_by(
    session: AsyncSession, actor: Actor, *, after: int, limit: int, job_id: str | None = None
) -> list[EventRecord]:
    """The events ``actor`` may see after ``after``, in sequence order."""
    return await repository.feed(
        session, events_visible_to(actor), after=after, limit=limit, job_id=job_id
    )


def _page(actor: Actor, records: list[EventRecord], after: int) -> EventPage:
    return EventPage(
        items=[view_for(actor, r) for r in records],
        next_after=records[-1].seq if records else after,
    )


async def my_feed(session: AsyncSession, actor: Actor, *, after: int, limit: int) -> EventPage:
    return _page(actor, await seen_by(session, actor, after=after, limit=limit), after)


async def job_history(
    session: AsyncSession, actor: Actor, job_id: str, *, after: int, limit: int
) -> EventPage | AdminEventPage:
    """A job's events as the actor may see them (an admin: as written, unmasked); 404 for a job
    they take no part in (a job's customer and every vendor offered it are in the audience of
    its first events)."""
    if not await repository.any_of_job(session, events_visible_to(actor), job_id):
        raise NotFound("Job not found")
    records = await seen_by(session, actor, after=after, limit=limit, job_id=job_id)
    if actor.is_admin:
        return AdminEventPage(
            items=[admin_view(r) for r in records],
            next_after=records[-1].seq if records else after,
        )
    return _page(actor, records, after)


async def admin_feed(
    session: AsyncSession, actor: Actor, *, after: int, limit: int, job_id: str | None
) -> AdminEventPage:
    """The whole log, unmasked, in sequence order (admins only)."""
    require(actor, Role.ADMIN)
    records = await seen_by(session, actor, after=after, limit=limit, job_id=job_id)
    return AdminEventPage(
        items=[admin_view(r) for r in records], next_after=records[-1].seq if records else after
    )


# The live-update hub reads on a connection of its own (asyncpg): every connected user's new
# events in one statement, which selects each event's recipients from its audience.


async def new_events(
    conn: Any, *, after: int, user_ids: Sequence[str], everything: bool, limit: int
) -> NewEvents:
    """Events after ``after`` that one of ``user_ids`` may see (all of them with
    ``everything``: an administrator is connected), each with its recipients among them."""
    return await repository.new_events(
        conn, after=after, user_ids=user_ids, everything=everything, limit=limit
    )


async def horizon(conn: Any) -> int:
    """The last position no event can still commit at or before (the live hub's start)."""
    return await repository.horizon(conn)


async def verify_job_chain(session: AsyncSession, actor: Actor, job_id: str) -> ChainVerification:
    """Walk one job's hash chain (as ``tradematch events verify`` does for all) and name the
    first event that does not match (admins). A job without events does not exist: every job
    begins with ``JOB_CREATED``."""
    require(actor, Role.ADMIN)
    report = await verify_chains(session, job_id=job_id)
    if report.events == 0:
        raise NotFound("Job not found")
    first = report.breaks[0] if report.breaks else None
    return ChainVerification(
        job_id=job_id,
        ok=report.ok,
        events=report.events,
        first_break=(
            ChainBreak(event_id=first.event_id, seq=first.seq, reason=first.reason)
            if first
            else None
        ),
    )
