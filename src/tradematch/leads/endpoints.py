from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from tradematch.api.deps import EmptyBody, SessionDep, SettingsDep, VendorDep
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.kit.ids import LeadId
from tradematch.kit.pagination import PageLimit
from tradematch.leads import service
from tradematch.leads.schemas import (
    DeclineRequest,
    LeadAccepted,
    LeadDeclined,
    LeadDetail,
    LeadList,
    LeadPreview,
)
from tradematch.leads.states import LEAD
from tradematch.uploads.deps import UploadLinksDep

router = APIRouter(tags=["leads"], route_class=TransactionalRoute)

LeadStatusFilter = Annotated[str | None, Query(pattern=LEAD.pattern)]


@router.get("/leads", response_model=LeadList)
async def list_leads(
    actor: VendorDep,
    session: SessionDep,
    links: UploadLinksDep,
    status: LeadStatusFilter = None,
    cursor: Annotated[LeadId | None, Query()] = None,
    limit: PageLimit = 20,
) -> LeadList:
    """My leads, newest first; offered leads are previews (customer hidden until accepted)."""
    return await service.list_leads(
        session, actor, links, limit=limit, cursor=cursor, status=status
    )


@router.get("/leads/{lead_id}", response_model=LeadDetail | LeadPreview)
async def get_lead(
    lead_id: LeadId, actor: VendorDep, session: SessionDep, links: UploadLinksDep
) -> LeadDetail | LeadPreview:
    """One of my leads (preview before acceptance, detail with customer contact after)."""
    return await service.get_lead(session, actor, links, lead_id)


@router.post("/leads/{lead_id}/accept", response_model=LeadAccepted, dependencies=[Idempotent])
async def accept_lead(
    lead_id: LeadId,
    actor: VendorDep,
    session: SessionDep,
    body: EmptyBody,
) -> LeadAccepted:
    """Accept a lead: customer contact details unlock and a conversation opens."""
    return await service.accept(session, actor, lead_id)


@router.post("/leads/{lead_id}/decline", response_model=LeadDeclined, dependencies=[Idempotent])
async def decline_lead(
    lead_id: LeadId,
    actor: VendorDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[DeclineRequest, Body(default_factory=DeclineRequest)],
) -> LeadDeclined:
    """Decline a lead (optional reason); the job is offered to the next best vendor."""
    return await service.decline(session, actor, settings, lead_id, body.reason)
