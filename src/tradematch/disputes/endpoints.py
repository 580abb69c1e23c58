from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from tradematch.api.deps import SessionDep, require_role
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role
from tradematch.disputes import service
from tradematch.disputes.schemas import DisputeRaised, RaiseDispute
from tradematch.kit.ids import JobId

router = APIRouter(tags=["disputes"], route_class=TransactionalRoute)
PartyDep = Annotated[Actor, Depends(require_role(Role.CUSTOMER, Role.VENDOR))]


@router.post(
    "/jobs/{job_id}/dispute",
    status_code=status.HTTP_201_CREATED,
    response_model=DisputeRaised,
    dependencies=[Idempotent],
)
async def raise_dispute(
    job_id: JobId, body: RaiseDispute, actor: PartyDep, session: SessionDep
) -> DisputeRaised:
    """Either party of an in-progress job: freeze the job and its escrow until an admin rules."""
    return await service.raise_dispute(session, actor, job_id, body.reason)
