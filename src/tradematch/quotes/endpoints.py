from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from tradematch.api.deps import (
    ActorDep,
    CustomerDep,
    CustomerOrAdminDep,
    EmptyBody,
    SessionDep,
    VendorDep,
)
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.kit.ids import JobId, QuoteId
from tradematch.kit.pagination import PageLimit
from tradematch.quotes import award, service
from tradematch.quotes.schemas import (
    QuoteAccepted,
    QuoteChanged,
    QuoteCreate,
    QuoteDecision,
    QuoteList,
    QuoteSent,
    QuoteUpdate,
    QuoteView,
)

router = APIRouter(tags=["quotes"], route_class=TransactionalRoute)


@router.post(
    "/quotes",
    status_code=status.HTTP_201_CREATED,
    response_model=QuoteSent,
    dependencies=[Idempotent],
)
async def send_quote(body: QuoteCreate, actor: VendorDep, session: SessionDep) -> QuoteSent:
    """Quote for a job whose lead I accepted; optional milestones that add up to the amount."""
    return await service.send(session, actor, body)


@router.get("/quotes", response_model=QuoteList)
async def my_quotes(
    actor: VendorDep,
    session: SessionDep,
    job_id: Annotated[JobId | None, Query()] = None,
    limit: PageLimit = 50,
) -> QuoteList:
    """My quotes, newest first (every status), optionally for one job."""
    return await service.mine(session, actor, job_id=job_id, limit=limit)


@router.get("/quotes/{quote_id}", response_model=QuoteView)
async def get_quote(quote_id: QuoteId, actor: ActorDep, session: SessionDep) -> QuoteView:
    return await service.get(session, actor, quote_id)


@router.patch("/quotes/{quote_id}", response_model=QuoteChanged, dependencies=[Idempotent])
async def edit_quote(
    quote_id: QuoteId, body: QuoteUpdate, actor: VendorDep, session: SessionDep
) -> QuoteChanged:
    """Edit a pending quote."""
    return await service.edit(session, actor, quote_id, body)


@router.patch("/quotes/{quote_id}/withdraw", response_model=QuoteChanged, dependencies=[Idempotent])
async def withdraw_quote(
    quote_id: QuoteId, actor: VendorDep, session: SessionDep, body: EmptyBody
) -> QuoteChanged:
    """Withdraw a pending quote; the lead stays open for a new one."""
    return await service.withdraw(session, actor, quote_id)


@router.patch("/quotes/{quote_id}/accept", response_model=QuoteAccepted, dependencies=[Idempotent])
async def accept_quote(
    quote_id: QuoteId, actor: CustomerDep, session: SessionDep, body: EmptyBody
) -> QuoteAccepted:
    """Award the job: the quote wins, the job starts, escrow opens, other vendors are told."""
    return await award.award(session, actor, quote_id)


@router.patch("/quotes/{quote_id}/reject", response_model=QuoteChanged, dependencies=[Idempotent])
async def reject_quote(
    quote_id: QuoteId,
    actor: CustomerDep,
    session: SessionDep,
    body: Annotated[QuoteDecision, Body(default_factory=QuoteDecision)],
) -> QuoteChanged:
    """Reject a pending quote; the vendor may quote again."""
    return await service.reject(session, actor, quote_id, body.reason)


@router.get("/jobs/{job_id}/quotes", response_model=QuoteList)
async def job_quotes(job_id: JobId, actor: CustomerOrAdminDep, session: SessionDep) -> QuoteList:
    """Every quote on my job."""
    return await service.for_job(session, actor, job_id)
