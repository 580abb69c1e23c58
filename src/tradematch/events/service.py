"""Reading the event log as a given user may see it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.scopes import jobs_involving
from tradematch.core.errors import NotFound
from tradematch.events import repository
from tradematch.events.models import EventRecord
from tradematch.events.schemas import AdminEventView, EventPage, EventView
from tradematch.jobs import repository as jobs


def masked_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Participants' view of a payload: the ``admin`` part removed."""
    return {k: v for k, v in payload.items() if k != "admin"}


def view_for(actor: Actor, record: EventRecord) -> EventView:
    if actor.is_admin:
        return admin_view(record)
    return EventView(
        event_id=record.id,
        seq=record.seq,
        type=record.type,
        job_id=record.job_id,
        actor_role=record.actor_role,
        actor_id=record.actor_id if record.actor_id == actor.user_id else None,
        payload=masked_payload(record.payload),
        created_at=record.created_at,
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


async def my_feed(session: AsyncSession, actor: Actor, *, after: int, limit: int) -> EventPage:
    records = await repository.feed(
        session, None if actor.is_admin else actor.user_id, after=after, limit=limit
    )
    return EventPage(
        items=[view_for(actor, r) for r in records],
        next_after=records[-1].seq if records else after,
    )


async def job_history(
    session: AsyncSession, actor: Actor, job_id: str, *, after: int, limit: int
) -> EventPage:
    if await jobs.get(session, jobs_involving(actor), job_id) is None:
        raise NotFound("Job not found")
    records = await repository.feed(
        session, None if actor.is_admin else actor.user_id, after=after, limit=limit, job_id=job_id
    )
    return EventPage(
        items=[view_for(actor, r) for r in records],
        next_after=records[-1].seq if records else after,
    )
