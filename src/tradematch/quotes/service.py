"""Quotes: sent by a vendor holding an accepted lead; one is accepted (the award)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.scopes import jobs_involving, jobs_owned_by, leads_held_by, quotes_visible_to
from tradematch.core.errors import InvalidStateTransition, NotFound, ValidationFailed
from tradematch.escrow import service as escrow_service
from tradematch.events.service import emit
from tradematch.events.types import EventType
from tradematch.jobs import repository as jobs
from tradematch.jobs.models import Job
from tradematch.jobs.states import JOB
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.money import pence_to_pounds
from tradematch.leads import service as leads
from tradematch.leads.models import Lead
from tradematch.leads.states import LEAD
from tradematch.messaging import service as messaging
from tradematch.milestones import service as milestones
from tradematch.quotes import repository
from tradematch.quotes.models import Quote
from tradematch.quotes.schemas import (
    MilestonePlanItem,
    MilestonePlanView,
    QuoteAccepted,
    QuoteChanged,
    QuoteCreate,
    QuoteList,
    QuoteSent,
    QuoteUpdate,
    QuoteView,
)
from tradematch.quotes.states import QUOTE

ACCEPTED_MESSAGE = "Quote accepted! Job is now in progress."
ACCEPTED_SYSTEM_TEXT = "Quote accepted. Job in progress."


def money_text(pence: int) -> str:
    pounds = pence_to_pounds(pence)
    return f"£{pounds:,.2f}" if isinstance(pounds, float) else f"£{pounds:,}"


def _plan(amount_pence: int, items: list[MilestonePlanItem] | None) -> list[dict[str, Any]]:
    if not items:
        return [{"title": "Complete the job", "amount_pence": amount_pence}]
    return [{"title": item.title, "amount_pence": item.amount} for item in items]


def view(quote: Quote) -> QuoteView:
    return QuoteView(
        quote_id=quote.id,
        job_id=quote.job_id,
        vendor_id=quote.vendor_id,
        status=quote.status,
        amount=quote.amount_pence,
        description=quote.description,
        estimated_duration=quote.estimated_duration,
        milestones=[
            MilestonePlanView(title=m["title"], amount=m["amount_pence"])
            for m in quote.milestone_plan
        ],
        created_at=quote.created_at,
        updated_at=quote.updated_at,
        decided_at=quote.decided_at,
    )


def _reference_text(quote: Quote, verb: str = "sent") -> str:
    lines = [f"Vendor {verb} quote: {money_text(quote.amount_pence)}"]
    if quote.estimated_duration:
        lines.append(f"Estimated duration: {quote.estimated_duration}")
    if quote.description:
        lines.append(f"Message: {quote.description}")
    return "\n".join(lines)


def _context(job: Job, quote: Quote) -> dict[str, Any]:
    return {
        "customer_id": job.customer_id,
        "vendor_id": quote.vendor_id,
        "amount_text": money_text(quote.amount_pence),
        "job_title": job.title,
    }


async def send(session: AsyncSession, actor: Actor, request: QuoteCreate) -> QuoteSent:
    job = await jobs.get(session, jobs_involving(actor), request.job_id, lock=True)
    lead = None
    if job is not None:
        result = await session.execute(
            select(Lead)
            .where(Lead.job_id == job.id, leads_held_by(actor))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        lead = result.scalar_one_or_none()
    if job is None or lead is None:
        raise NotFound("Job not found")
    if job.status != "live":
        raise InvalidStateTransition("job", job.status, "quote")
    lead.status = LEAD.transition(lead.status, "send_quote")
    quote = Quote(
        id=new_id("quote"),
        job_id=job.id,
        lead_id=lead.id,
        vendor_id=actor.user_id,
        amount_pence=request.amount,
        description=request.description,
        estimated_duration=request.estimated_duration,
        milestone_plan=_plan(request.amount, request.milestones),
        status="pending",
    )
    session.add(quote)
    await session.flush()
    await messaging.post_to_job(
        session,
        job.id,
        actor.user_id,
        _reference_text(quote),
        kind="quote_reference",
        quote_id=quote.id,
    )
    event_id = emit(
        session,
        EventType.QUOTE_SENT,
        actor=actor,
        job_id=job.id,
        payload={"quote_id": quote.id, "lead_id": lead.id, "amount_pence": quote.amount_pence},
        audience=[job.customer_id, actor.user_id],
        context=_context(job, quote),
    )
    return QuoteSent(quote_id=quote.id, status=quote.status, event_id=event_id)


async def _locked(session: AsyncSession, actor: Actor, quote_id: str) -> tuple[Quote, Job]:
    """Lock the job first, then the quote (the order every path uses)."""
    found = await repository.get(session, quotes_visible_to(actor), quote_id)
    job = await jobs.get(session, jobs_involving(actor), found.job_id, lock=True) if found else None
    quote = (
        await repository.get(session, quotes_visible_to(actor), quote_id, lock=True)
        if job
        else None
    )
    if job is None or quote is None:
        raise NotFound("Quote not found")
    return quote, job


async def _lead(session: AsyncSession, lead_id: str) -> Lead:
    result = await session.execute(
        select(Lead)
        .where(Lead.id == lead_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one()


async def edit(
    session: AsyncSession, actor: Actor, quote_id: str, change: QuoteUpdate
) -> QuoteChanged:
    quote, job = await _locked(session, actor, quote_id)
    quote.status = QUOTE.transition(quote.status, "edit")
    fields = change.model_fields_set - {"idempotency_key"}
    amount = change.amount if change.amount is not None else quote.amount_pence
    if "milestones" in fields or "amount" in fields:
        plan = (
            _plan(amount, change.milestones)
            if change.milestones is not None
            else quote.milestone_plan
        )
        if len(plan) == 1 and change.milestones is None:
            plan = [{"title": plan[0]["title"], "amount_pence": amount}]  # follows the amount
        if sum(m["amount_pence"] for m in plan) != amount:
            raise ValidationFailed(
                "milestone amounts must add up to the quote amount; send the new breakdown too"
            )
        quote.milestone_plan = plan
    quote.amount_pence = amount
    if "description" in fields:
        quote.description = change.description
    if "estimated_duration" in fields:
        quote.estimated_duration = change.estimated_duration
    await session.flush()
    await messaging.post_to_job(
        session,
        job.id,
        quote.vendor_id,
        _reference_text(quote, "updated"),
        kind="quote_reference",
        quote_id=quote.id,
    )
    event_id = emit(
        session,
        EventType.QUOTE_UPDATED,
        actor=actor,
        job_id=job.id,
        payload={"quote_id": quote.id, "amount_pence": quote.amount_pence},
        audience=[job.customer_id, quote.vendor_id],
        context=_context(job, quote),
    )
    return QuoteChanged(quote_id=quote.id, status=quote.status, event_id=event_id)


async def _close_quote(
    session: AsyncSession,
    actor: Actor,
    quote_id: str,
    action: str,
    event: EventType,
    reason: str | None = None,
) -> QuoteChanged:
    """Reject (customer) or withdraw (vendor): the lead stays active for a new quote."""
    quote, job = await _locked(session, actor, quote_id)
    quote.status = QUOTE.transition(quote.status, action)
    quote.decided_at = clock.now()
    lead = await _lead(session, quote.lead_id)
    lead.status = LEAD.transition(lead.status, "reopen")
    await session.flush()
    payload: dict[str, Any] = {"quote_id": quote.id, "lead_id": lead.id}
    if reason:
        payload["reason"] = reason
    event_id = emit(
        session,
        event,
        actor=actor,
        job_id=job.id,
        payload=payload,
        audience=[job.customer_id, quote.vendor_id],
        context=_context(job, quote),
    )
    return QuoteChanged(quote_id=quote.id, status=quote.status, event_id=event_id)


async def reject(
    session: AsyncSession, actor: Actor, quote_id: str, reason: str | None
) -> QuoteChanged:
    return await _close_quote(session, actor, quote_id, "reject", EventType.QUOTE_REJECTED, reason)


async def withdraw(session: AsyncSession, actor: Actor, quote_id: str) -> QuoteChanged:
    return await _close_quote(session, actor, quote_id, "withdraw", EventType.QUOTE_WITHDRAWN)


async def accept(session: AsyncSession, actor: Actor, quote_id: str) -> QuoteAccepted:
    """The award, in one transaction: the quote wins, the job starts, every other lead closes
    (their pending quotes expire, their conversations lock), escrow and milestones are opened."""
    quote, job = await _locked(session, actor, quote_id)
    job.status = JOB.transition(job.status, "award")
    quote.status = QUOTE.transition(quote.status, "accept")
    now = clock.now()
    quote.decided_at = now
    lead = await _lead(session, quote.lead_id)
    lead.status = LEAD.transition(lead.status, "win")
    job.awarded_vendor_id = quote.vendor_id
    job.awarded_at = now
    await session.flush()
    await leads.close_open_leads(session, actor, job, except_lead=lead.id)
    escrow = await escrow_service.open_for_award(session, job, quote)
    await milestones.create_from_plan(session, job, quote, escrow)
    await messaging.post_to_job(session, job.id, quote.vendor_id, ACCEPTED_SYSTEM_TEXT)
    parties = [job.customer_id, quote.vendor_id]
    context = _context(job, quote)
    event_id = emit(
        session,
        EventType.QUOTE_ACCEPTED,
        actor=actor,
        job_id=job.id,
        payload={"quote_id": quote.id, "lead_id": lead.id, "amount_pence": quote.amount_pence},
        audience=parties,
        context=context,
    )
    emit(
        session,
        EventType.JOB_IN_PROGRESS,
        actor=actor,
        job_id=job.id,
        payload={"status": job.status},
        audience=parties,
        context=context,
    )
    emit(
        session,
        EventType.ESCROW_CREATED,
        actor=actor,
        job_id=job.id,
        payload={"escrow_id": escrow.id, "total_pence": escrow.total_pence},
        audience=parties,
        context=context,
    )
    return QuoteAccepted(
        quote_id=quote.id, job_id=job.id, event_id=event_id, message=ACCEPTED_MESSAGE
    )


async def get(session: AsyncSession, actor: Actor, quote_id: str) -> QuoteView:
    quote = await repository.get(session, quotes_visible_to(actor), quote_id)
    if quote is None:
        raise NotFound("Quote not found")
    return view(quote)


async def for_job(session: AsyncSession, actor: Actor, job_id: str) -> QuoteList:
    job = await jobs.get(session, jobs_owned_by(actor), job_id)
    if job is None:
        raise NotFound("Job not found")
    return QuoteList(items=[view(q) for q in await repository.for_job(session, job.id)])


async def mine(session: AsyncSession, actor: Actor, *, job_id: str | None, limit: int) -> QuoteList:
    """A vendor's own quotes (every status), newest first."""
    found = await repository.in_scope(session, quotes_visible_to(actor), job_id=job_id, limit=limit)
    return QuoteList(items=[view(q) for q in found])
