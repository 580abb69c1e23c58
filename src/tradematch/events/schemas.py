from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from tradematch.kit.schemas import ResponseModel
from tradematch.kit.text import RedactedPayload


class EventView(ResponseModel):
    event_id: str
    seq: int = Field(
        description="Global sequence number: the event's position in the log (the writing "
        "transaction's id * 65536 + its order within it). Increasing, not contiguous; the cursor "
        "for `GET /events?after=` and `resume_from`."
    )
    type: str
    job_id: str | None
    actor_role: str
    actor_id: str | None = Field(description="Shown to admins, and to the actor themself.")
    payload: RedactedPayload = Field(
        description="Free text in it (a dispute's reason, ...) has contact details redacted."
    )
    created_at: datetime


class EventPage(ResponseModel):
    items: list[EventView]
    next_after: int = Field(description="Pass as `after` to continue; unchanged when nothing new.")


class AdminEventView(EventView):
    payload: dict[str, Any]  # admins see the log as written
    idempotency_key: str | None
    chain_index: int
    prev_hash: str | None
    hash: str


class AdminEventPage(ResponseModel):
    items: list[AdminEventView]
    next_after: int


class ChainBreak(ResponseModel):
    event_id: str
    seq: int
    reason: str


class ChainVerification(ResponseModel):
    job_id: str
    ok: bool
    events: int
    first_break: ChainBreak | None
