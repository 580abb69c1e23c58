"""The admin's view of refused requests."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum

from tradematch.kit.schemas import ResponseModel


class DeniedStatus(IntEnum):
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404


class ActorDenials(ResponseModel):
    actor_id: str  # a user id, or "anonymous"
    role: str
    count: int
    last_seen_at: datetime


class DenialReport(ResponseModel):
    status: int
    since: datetime
    items: list[ActorDenials]
