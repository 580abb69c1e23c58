from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from tradematch.api.deps import ActorDep, SessionDep
from tradematch.api.routing import TransactionalRoute
from tradematch.events import service
from tradematch.events.schemas import AdminEventPage, EventPage
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
) -> EventPage | JSONResponse:
    """A job's history as I may see it (customer: my job; vendor: my lead's events; admin: all,
    as written in the log: unmasked, with each event's chain fields)."""
    page = await service.job_history(session, actor, job_id, after=after, limit=limit)
    if isinstance(page, AdminEventPage):
        # The participants' schema masks payloads; an admin's page is the log's own view.
        return JSONResponse(page.model_dump(mode="json"))
    return page
