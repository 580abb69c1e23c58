"""Admin: who is being refused, and how often (contract §6, "the count of 404s by actor is
visible to admin"). Mounted under ``/api/admin``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request

from tradematch.core.deps import AdminDep, SessionDep
from tradematch.core.routing import TransactionalRoute
from tradematch.kit.schemas import ResponseModel
from tradematch.ops import denials

router = APIRouter(tags=["admin"], route_class=TransactionalRoute)


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


@router.get("/denials", response_model=DenialReport)
async def denials_by_actor(
    request: Request,
    actor: AdminDep,
    session: SessionDep,
    status: Annotated[DeniedStatus, Query()] = DeniedStatus.NOT_FOUND,
    hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DenialReport:
    """Refused requests per actor over the last ``hours``, most refused first: by default the
    404s, i.e. requests for objects that do not exist or are not the caller's (a high count
    suggests someone probing for other users' ids). Counted per hour; other server processes'
    latest counts arrive within ``TRADEMATCH_DENIAL_FLUSH_SECONDS``."""
    recorder: denials.DenialRecorder | None = getattr(request.app.state, "denials", None)
    if recorder is not None:
        await recorder.flush(request.app.state.sessionmaker)  # this process's latest first
    since = (datetime.now(UTC) - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    found = await denials.by_actor(session, int(status), since, limit)
    return DenialReport(
        status=int(status),
        since=since,
        items=[
            ActorDenials(
                actor_id=f.actor_id, role=f.role, count=f.count, last_seen_at=f.last_seen_at
            )
            for f in found
        ],
    )
