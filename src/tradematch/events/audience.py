"""Who an event is for: the job it belongs to and the users who see it (besides admins).

Each domain names its audiences once (a job's customer, a lead's vendor, a conversation's two
participants) and emits through them, rather than spelling out ``job_id`` and ``audience`` at
every event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.events.context import NotificationContext
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
    ) -> str:
        """Record the event for this audience (see ``events.log.emit``); its id."""
        return emit(
            session,
            type,
            actor=actor,
            job_id=self.job_id,
            payload=payload,
            audience=self.users,
            context=context,
        )
