"""Quotes: sent by a vendor holding an accepted lead, edited or withdrawn by that vendor,
rejected by the customer. Accepting one is the award: ``quotes/award.py``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import jobs_involving, jobs_owned_by, quotes_visible_to
from tradematch.core.errors import InvalidStateTransition, NotFound, ValidationFailed
from tradematch.events.audience import Audience
from tradematch.events.context import NotificationContext, for_parties
from tradematch.events.types import EventType
from tradematch.jobs import service as jobs
from tradematch.jobs.models import Job
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.money import money_text, pence_to_pounds
from tradematch.leads import service as leads
from tradematch.leads.states import ensure_in_job
from tradematch.messaging import service as messaging
from tradematch.quotes import repository
from tradematch.quotes.models import WHOLE_JOB, MilestonePlanEntry, Quote
from tradematch.quotes.schemas import (
    MilestonePlanItem,
    MilestonePlanView,
    QuoteChanged,
    QuoteCreate,
    QuoteList,
    QuoteSent,
    QuoteUpdate,
    QuoteView,
)
from tradematch.quotes.states import QUOTE


def _plan(amount_pence: int, items: list[MilestonePlanItem] | None) -> list[MilestonePlanEntry]:
    if not items:
        return [MilestonePlanEntry(title=WHOLE_JOB, amount_pence=amount_pence)]
    return [MilestonePlanEntry(title=item.title, amount_pence=item.amount) for item in items]


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


def notification_context(job: Job, quote: Quote) -> NotificationContext:
    return for_parties(
        job.customer_id,
        quote.vendor_id,
        amount_text=money_text(quote.amount_pence),
        job_title=job.title,
    )


def emit_about_quote(
    session: AsyncSession,
    type: EventType,
    actor: Actor,
    job: Job,
    quote: Quote,
    payload: dict[str, Any],
) -> str:
    """An event about a quote (or its award): the job's customer and the quote's vendor see it,
    and the rules may notify either."""
    parties = Audience(job.id, [job.customer_id, quote.vendor_id])
    return parties.emit(session, type, actor, payload, notification_context(job, quote))


async def _announce(
    session: AsyncSession,
    actor: Actor,
    job: Job,
    quote: Quote,
    type: EventType,
    payload: dict[str, Any],
) -> str:
    """The quote as it now stands in the job's conversation, and its event."""
    verb = {EventType.QUOTE_SENT: "sent", EventType.QUOTE_UPDATED: "updated"}[type]
    await messaging.post_to_job(
        session,
        actor,
        job.id,
        quote.vendor_id,
        _reference_text(quote, verb),
        kind="quote_reference",
        quote_id=quote.id,
    )
    return emit_about_quote(session, type, actor, job, quote, payload)


async def send(session: AsyncSession, actor: Actor, request: QuoteCreate) -> QuoteSent:
    require(actor, Role.VENDOR)
    job = await jobs.find(session, jobs_involving(actor), request.job_id, lock=True)
    lead = await leads.lock_own_on_job(session, actor, job) if job is not None else None
    if job is None or lead is None:
        raise NotFound("Job not found")
    ensure_in_job(lead.status)
    if job.status != "live":
        raise InvalidStateTransition("job", job.status, "quote")
    leads.quote_sent(lead)
    quote = await repository.add(
        session,
        Quote(
            id=new_id("quote"),
            job_id=job.id,
            lead_id=lead.id,
            vendor_id=actor.user_id,
            amount_pence=request.amount,
            description=request.description,
            estimated_duration=request.estimated_duration,
            milestone_plan=_plan(request.amount, request.milestones),
            status="pending",
        ),
    )
    amount = pence_to_pounds(quote.amount_pence)
    payload = {"quote_id": quote.id, "lead_id": lead.id, "amount": amount}
    event_id = await _announce(session, actor, job, quote, EventType.QUOTE_SENT, payload)
    return QuoteSent(quote_id=quote.id, status=quote.status, event_id=event_id)


async def lock_with_job(session: AsyncSession, actor: Actor, quote_id: str) -> tuple[Job, Quote]:
    """The quote and its job, both locked (the job first, as every path locks). A vendor out of
    the job hears only that it is no longer available, before the quote's state is looked at."""
    job, quote = await jobs.lock_with(
        session,
        jobs_involving(actor),
        lambda lock: repository.get(session, quotes_visible_to(actor), quote_id, lock=lock),
        job_of=lambda quote: quote.job_id,
        missing="Quote not found",
    )
    await leads.ensure_vendor_in_job(session, actor, job)
    return job, quote


async def edit(
    session: AsyncSession, actor: Actor, quote_id: str, change: QuoteUpdate
) -> QuoteChanged:
    require(actor, Role.VENDOR)
    job, quote = await lock_with_job(session, actor, quote_id)
    quote.status = QUOTE.transition(quote.status, "edit")
    fields = change.model_fields_set
    amount = change.amount if change.amount is not None else quote.amount_pence
    if "milestones" in fields or "amount" in fields:
        plan = (
            _plan(amount, change.milestones)
            if change.milestones is not None
            else quote.milestone_plan
        )
        if len(plan) == 1 and change.milestones is None:
            plan = [MilestonePlanEntry(title=plan[0]["title"], amount_pence=amount)]
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
    payload = {"quote_id": quote.id, "amount": pence_to_pounds(quote.amount_pence)}
    event_id = await _announce(session, actor, job, quote, EventType.QUOTE_UPDATED, payload)
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
    job, quote = await lock_with_job(session, actor, quote_id)
    quote.status = QUOTE.transition(quote.status, action)
    quote.decided_at = clock.now()
    lead = await leads.lock_quoted(session, actor, quote.lead_id)
    leads.reopen(lead)
    await session.flush()
    payload: dict[str, Any] = {"quote_id": quote.id, "lead_id": lead.id}
    if reason:
        payload["reason"] = reason
    event_id = emit_about_quote(session, event, actor, job, quote, payload)
    return QuoteChanged(quote_id=quote.id, status=quote.status, event_id=event_id)


async def reject(
    session: AsyncSession, actor: Actor, quote_id: str, reason: str | None
) -> QuoteChanged:
    require(actor, Role.CUSTOMER)
    return await _close_quote(session, actor, quote_id, "reject", EventType.QUOTE_REJECTED, reason)


async def withdraw(session: AsyncSession, actor: Actor, quote_id: str) -> QuoteChanged:
    require(actor, Role.VENDOR)
    return await _close_quote(session, actor, quote_id, "withdraw", EventType.QUOTE_WITHDRAWN)


async def get(session: AsyncSession, actor: Actor, quote_id: str) -> QuoteView:
    quote = await repository.get(session, quotes_visible_to(actor), quote_id)
    if quote is None:
        raise NotFound("Quote not found")
    return view(quote)


async def for_job(session: AsyncSession, actor: Actor, job_id: str) -> QuoteList:
    require(actor, Role.CUSTOMER, Role.ADMIN)
    job = await jobs.find(session, jobs_owned_by(actor), job_id)
    if job is None:
        raise NotFound("Job not found")
    quotes = await repository.for_job(session, quotes_visible_to(actor), job.id)
    return QuoteList(items=[view(q) for q in quotes])


async def expire_pending_for_leads(session: AsyncSession, lead_ids: list[str]) -> list[str]:
    """The pending quotes of leads that just closed expire with them."""
    return await repository.expire_pending_for_leads(session, lead_ids)


async def mine(session: AsyncSession, actor: Actor, *, job_id: str | None, limit: int) -> QuoteList:
    """A vendor's own quotes (every status), newest first, optionally of one job."""
    require(actor, Role.VENDOR)
    found = await repository.in_scope(session, quotes_visible_to(actor), job_id=job_id, limit=limit)
    return QuoteList(items=[view(q) for q in found])
