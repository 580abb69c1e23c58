from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from tradematch.kit.schemas import ResponseModel


class EventView(ResponseModel):
    event_id: str
    seq: int = Field(description="Global sequence number; the cursor for `GET /events?after=`.")
    type: str
    job_id: str | None
    actor_role: str
    actor_id: str | None = Field(description="Shown to admins, and to the actor themself.")
    payload: dict[str, Any]
    created_at: datetime


class EventPage(ResponseModel):
    items: list[EventView]
    next_after: int = Field(description="Pass as `after` to continue; unchanged when nothing new.")


class AdminEventView(EventView):
    idempotency_key: str | None
    chain_index: int
    prev_hash: str | None
    hash: str


class AdminEventPage(ResponseModel):
    items: list[AdminEventView]
    next_after: int
