from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tradematch.api.deps import ActorDep, SessionDep
from tradematch.api.routing import TransactionalRoute
from tradematch.events import service
from tradematch.events.schemas import EventPage
from tradematch.kit.ids import JobId

router = APIRouter(tags=["events"], route_class=TransactionalRoute)

After = Annotated[
    int, Query(ge=0, le=2**62, description="Return events with a larger sequence number.")
]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/events", response_model=EventPage)
async def my_events(
    actor: ActorDep, session: SessionDep, after: After = 0, limit: Limit = 100
) -> EventPage:
    """My own feed in sequence order, for polling clients; never skips a late-committing event."""
    return await service.my_feed(session, actor, after=after, limit=limit)


@router.get("/events/{job_id}", response_model=EventPage)
async def job_events(
    job_id: JobId, actor: ActorDep, session: SessionDep, after: After = 0, limit: Limit = 500
) -> EventPage:
    """A job's history as I may see it (customer: my job; vendor: my lead's events; admin: all)."""
    return await service.job_history(session, actor, job_id, after=after, limit=limit)
