from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import User
from tradematch.authz.actor import SYSTEM, Actor
from tradematch.authz.scopes import PHOTO_LEAD_STATES, jobs_involving, leads_held_by
from tradematch.core.config import Settings
from tradematch.core.errors import NotFound
from tradematch.events.service import emit
from tradematch.events.types import EventType
from tradematch.jobs import repository as jobs
from tradematch.jobs.models import Job
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.text import redact_contact_details
from tradematch.leads import repository
from tradematch.leads.models import Lead
from tradematch.leads.pricing import lead_price_pence
from tradematch.leads.schemas import (
    CustomerContact,
    LeadAccepted,
    LeadAdmin,
    LeadDeclined,
    LeadDetail,
    LeadList,
    LeadPreview,
)
from tradematch.leads.states import ENGAGED_LEAD_STATES, LEAD
from tradematch.messaging import service as messaging
from tradematch.messaging.models import Conversation
from tradematch.uploads import service as uploads
from tradematch.uploads.links import UploadLinks
from tradematch.uploads.schemas import UploadView

ACCEPTED_MESSAGE = "Lead accepted. Customer contact details now visible."
NO_LONGER_AVAILABLE = "This job is no longer available"


def _short(title: str, limit: int = 20) -> str:
    return title if len(title) <= limit else title[: limit - 3].rstrip() + "..."


async def offer_leads(
    session: AsyncSession, actor: Actor, settings: Settings, job: Job
) -> list[Lead]:
    """Offer the job to the best matching vendors until it has ``max_open_leads`` open leads.

    The caller holds the job's row lock, so concurrent top-ups cannot overshoot.
    """
    wanted = settings.max_open_leads - await repository.count_open(session, job.id)
    matches = await repository.best_matches(session, job, wanted)
    now = clock.now()
    price = lead_price_pence(
        job.trade_category,
        job.timeframe,
        settings.lead_base_price_pence,
        settings.lead_urgency_percent,
    )
    leads = []
    for match in matches:
        lead = Lead(
            id=new_id("lead"),
            job_id=job.id,
            vendor_id=match.vendor_id,
            status="offered",
            price_pence=price,
            distance_miles=round(match.distance_miles, 2),
            offered_at=now,
            expires_at=now + timedelta(hours=settings.lead_ttl_hours),
        )
        session.add(lead)
        leads.append(lead)
    await session.flush()
    for lead in leads:
        emit(
            session,
            EventType.LEAD_OFFERED,
            actor=actor,
            job_id=job.id,
            payload={
                "lead_id": lead.id,
                "vendor_id": lead.vendor_id,
                "admin": {"price_pence": lead.price_pence},
            },
            audience=[lead.vendor_id],
            context={
                "vendor_id": lead.vendor_id,
                "job_title_short": _short(redact_contact_details(job.title) or ""),
            },
        )
    return leads


async def close_open_leads(
    session: AsyncSession, actor: Actor, job: Job, *, except_lead: str | None = None
) -> list[Lead]:
    """Close every open lead of the job (another vendor won, or the job ended): their pending
    quotes expire, their conversations lock, and each vendor hears only that the job is gone."""
    leads = await repository.open_leads_for_update(session, job.id, except_lead=except_lead)
    now = clock.now()
    for lead in leads:
        lead.status = LEAD.transition(lead.status, "close")
        lead.closed_at = now
    await session.flush()
    lead_ids = [lead.id for lead in leads]
    await repository.expire_pending_quotes(session, lead_ids)
    await messaging.lock_for_leads(session, lead_ids)
    for lead in leads:
        emit(
            session,
            EventType.LEAD_CLOSED,
            actor=actor,
            job_id=job.id,
            payload={"lead_id": lead.id, "message": NO_LONGER_AVAILABLE},
            audience=[lead.vendor_id],
            context={"vendor_id": lead.vendor_id},
        )
    return leads


def _vendor_view(
    lead: Lead,
    job: Job,
    customer: User,
    conversation_id: str | None,
    photos: dict[str, list[UploadView]],
) -> LeadDetail | LeadPreview:
    """The vendor's view: contact details only while the vendor is engaged on the job; the
    job's photos while the lead is in play (as the upload access rule has it)."""
    common = {
        "lead_id": lead.id,
        "job_id": job.id,
        "status": lead.status,
        "trade_category": job.trade_category,
        "budget_min": job.budget_min_pence,
        "budget_max": job.budget_max_pence,
        "timeframe": job.timeframe,
        "outcode": job.outcode,
        "approx_distance_miles": round(lead.distance_miles),
        "offered_at": lead.offered_at,
        "expires_at": lead.expires_at,
        "photo_uploads": photos.get(job.id, []) if lead.status in PHOTO_LEAD_STATES else [],
    }
    if lead.status in ENGAGED_LEAD_STATES:
        return LeadDetail(
            **common,
            title=job.title,
            description=job.description,
            postcode=job.postcode,
            accepted_at=lead.accepted_at,
            conversation_id=conversation_id,
            customer=CustomerContact(
                name=customer.name,
                phone=customer.phone,
                email=customer.email,
                postcode=customer.postcode,
            ),
        )
    return LeadPreview(
        **common,
        title=redact_contact_details(job.title) or "",
        description=redact_contact_details(job.description),
    )


async def _conversation_ids(session: AsyncSession, lead_ids: list[str]) -> dict[str, str]:
    from sqlalchemy import select

    if not lead_ids:
        return {}
    result = await session.execute(
        select(Conversation.lead_id, Conversation.id).where(Conversation.lead_id.in_(lead_ids))
    )
    return dict(result.all())


async def _job_photos(
    session: AsyncSession, actor: Actor, links: UploadLinks, leads: list[Lead]
) -> dict[str, list[UploadView]]:
    in_play = [lead.job_id for lead in leads if lead.status in PHOTO_LEAD_STATES]
    return await uploads.views_of(session, links, actor, "job", in_play)


async def list_leads(
    session: AsyncSession,
    actor: Actor,
    links: UploadLinks,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
) -> LeadList:
    rows = await repository.list_with_jobs(
        session, leads_held_by(actor), limit=limit + 1, before=cursor, status=status
    )
    more = len(rows) > limit
    rows = rows[:limit]
    conversations = await _conversation_ids(session, [row.Lead.id for row in rows])
    photos = await _job_photos(session, actor, links, [row.Lead for row in rows])
    return LeadList(
        items=[
            _vendor_view(r.Lead, r.Job, r.User, conversations.get(r.Lead.id), photos) for r in rows
        ],
        next_cursor=rows[-1].Lead.id if more else None,
    )


async def get_lead(
    session: AsyncSession, actor: Actor, links: UploadLinks, lead_id: str
) -> LeadDetail | LeadPreview:
    row = await repository.get_with_job(session, leads_held_by(actor), lead_id)
    if row is None:
        raise NotFound("Lead not found")
    conversations = await _conversation_ids(session, [lead_id])
    photos = await _job_photos(session, actor, links, [row.Lead])
    return _vendor_view(row.Lead, row.Job, row.User, conversations.get(lead_id), photos)


def admin_view(lead: Lead) -> LeadAdmin:
    return LeadAdmin(
        lead_id=lead.id,
        job_id=lead.job_id,
        vendor_id=lead.vendor_id,
        status=lead.status,
        price=lead.price_pence,
        distance_miles=lead.distance_miles,
        offered_at=lead.offered_at,
        expires_at=lead.expires_at,
        accepted_at=lead.accepted_at,
        declined_at=lead.declined_at,
        decline_reason=lead.decline_reason,
        closed_at=lead.closed_at,
    )


async def _lock_lead_and_job(session: AsyncSession, actor: Actor, lead_id: str) -> tuple[Lead, Job]:
    """Lock order everywhere: job, then its leads (so no two paths deadlock)."""
    lead = await repository.get(session, leads_held_by(actor), lead_id)
    if lead is None:
        raise NotFound("Lead not found")
    job = await jobs.get(session, jobs_involving(actor), lead.job_id, lock=True)
    locked = await repository.get(session, leads_held_by(actor), lead_id, lock=True)
    if job is None or locked is None:
        raise NotFound("Lead not found")
    return locked, job


async def accept(session: AsyncSession, actor: Actor, lead_id: str) -> LeadAccepted:
    lead, job = await _lock_lead_and_job(session, actor, lead_id)
    lead.status = LEAD.transition(lead.status, "accept")
    lead.accepted_at = clock.now()
    await session.flush()
    conversation = await messaging.start_conversation(session, job, lead)
    event_id = emit(
        session,
        EventType.LEAD_ACCEPTED,
        actor=actor,
        job_id=job.id,
        payload={
            "lead_id": lead.id,
            "vendor_id": lead.vendor_id,
            "conversation_id": conversation.id,
        },
        audience=[job.customer_id, lead.vendor_id],
        context={"customer_id": job.customer_id, "vendor_id": lead.vendor_id},
    )
    return LeadAccepted(
        lead_id=lead.id,
        conversation_id=conversation.id,
        event_id=event_id,
        message=ACCEPTED_MESSAGE,
    )


async def decline(
    session: AsyncSession, actor: Actor, settings: Settings, lead_id: str, reason: str | None
) -> LeadDeclined:
    lead, job = await _lock_lead_and_job(session, actor, lead_id)
    lead.status = LEAD.transition(lead.status, "decline")
    lead.declined_at = clock.now()
    lead.decline_reason = reason
    await session.flush()
    event_id = emit(
        session,
        EventType.LEAD_DECLINED,
        actor=actor,
        job_id=job.id,
        payload={"lead_id": lead.id, "admin": {"reason": reason}},
        audience=[lead.vendor_id],
    )
    if job.status == "live":
        # The platform offers the replacement lead, not the vendor who declined: the new vendor
        # must not learn that a competitor had the job before it.
        await offer_leads(session, SYSTEM, settings, job)
    return LeadDeclined(lead_id=lead.id, status=lead.status, event_id=event_id)
