"""Who an event is for: the job it belongs to and the users who see it (besides admins).

Each domain names its audiences once (a job's customer, a lead's vendor, a conversation's two
participants) and emits through them, rather than spelling out ``job_id`` and ``audience`` at
every event. ``JobParties`` is the audience of an event about a job's two parties, the customer
and a vendor: both see it, and the notification rules may tell either (they read the parties
from the event's context)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.events.context import Details, NotificationContext, for_parties
from tradematch.events.log import emit
from tradematch.events.types import EventType


@dataclass(frozen=True)
class Audience:
    job_id: str | None
    users: Sequence[str]

    def emit(
        self,
        session: AsyncSession,
        type: EventType,
        actor: Actor,
        payload: dict[str, Any],
        context: NotificationContext | None = None,
        *,
        event_id: str | None = None,
    ) -> str:
        """Record the event for this audience (see ``events.log.emit``); its id. ``event_id``:
        one drawn by ``events.log.new_event_id`` (default: a new one)."""
        return emit(
            session,
            type,
            actor=actor,
            job_id=self.job_id,
            payload=payload,
            audience=self.users,
            context=context,
            event_id=event_id,
        )


@dataclass(frozen=True)
class JobParties:
    job_id: str
    customer_id: str
    vendor_id: str

    def emit(
        self,
        session: AsyncSession,
        type: EventType,
        actor: Actor,
        payload: dict[str, Any],
        *,
        event_id: str | None = None,
        **details: Unpack[Details],
    ) -> str:
        """Record the event for both parties, with ``details`` for the notification texts;
        its id (see ``Audience.emit``)."""
        both = Audience(self.job_id, [self.customer_id, self.vendor_id])
        context = for_parties(self.customer_id, self.vendor_id, **details)
        return both.emit(session, type, actor, payload, context, event_id=event_id)
