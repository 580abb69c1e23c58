"""Leads: offering a job to the best matching vendors, the vendor's masked views, accepting and
declining, and the lead's part in quoting."""

from __future__ import annotations

from datetime import timedelta
from typing import Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import User
from tradematch.authz.actor import SYSTEM, Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import (
    jobs_involving,
    jobs_owned_by,
    leads_held_by,
    leads_on_jobs_of,
)
from tradematch.core.config import Settings
from tradematch.core.errors import NotFound
from tradematch.events.audience import Audience, JobParties
from tradematch.events.context import for_parties
from tradematch.events.types import EventType
from tradematch.jobs import service as jobs
from tradematch.jobs.models import Job
from tradematch.kit import clock
from tradematch.kit.ids import new_id
from tradematch.kit.money import pence_to_pounds
from tradematch.kit.pagination import StatusPage, page
from tradematch.kit.text import redact_contact_details
from tradematch.leads import repository
from tradematch.leads.models import Lead
from tradematch.leads.pricing import lead_price_pence
from tradematch.leads.schemas import (
    CustomerContact,
    EngagedVendor,
    EngagedVendorList,
    LeadAccepted,
    LeadAdmin,
    LeadDeclined,
    LeadDetail,
    LeadList,
    LeadPreview,
    VendorContact,
)
from tradematch.leads.states import ENGAGED_LEAD_STATES, LEAD, PHOTO_LEAD_STATES, ensure_in_job
from tradematch.messaging import service as messaging
from tradematch.uploads import service as uploads
from tradematch.uploads.links import UploadLinks
from tradematch.uploads.schemas import UploadView
from tradematch.vendors.service import rating_average

ACCEPTED_MESSAGE = "Lead accepted. Customer contact details now visible."


def _short(title: str, limit: int = 20) -> str:
    return title if len(title) <= limit else title[: limit - 3].rstrip() + "..."


def vendor_of(lead: Lead) -> Audience:
    """The audience of an event about a lead that its vendor alone sees."""
    return Audience(lead.job_id, [lead.vendor_id])


# --- offering and closing (the platform's side) ---------------------------------------------


async def offer_leads(session: AsyncSession, by: Actor, settings: Settings, job: Job) -> list[Lead]:
    """Offer the job to the best matching vendors until it has ``max_open_leads`` open leads;
    the events name ``by`` (whoever set it off: the customer publishing, or the platform).

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
    leads = await repository.add_all(
        session,
        [
            Lead(
                id=new_id("lead"),
                job_id=job.id,
                vendor_id=match.vendor_id,
                status="offered",
                price_pence=price,
                distance_miles=round(match.distance_miles, 2),
                offered_at=now,
                expires_at=now + timedelta(hours=settings.lead_ttl_hours),
            )
            for match in matches
        ],
    )
    short_title = _short(redact_contact_details(job.title) or "")
    for lead in leads:
        payload = {
            "lead_id": lead.id,
            "vendor_id": lead.vendor_id,
            "admin": {"price": pence_to_pounds(lead.price_pence)},
        }
        context = for_parties(None, lead.vendor_id, job_title_short=short_title)
        vendor_of(lead).emit(session, EventType.LEAD_OFFERED, by, payload, context)
    return leads


async def close_open(
    session: AsyncSession, job: Job, *, except_lead: str | None = None
) -> list[Lead]:
    """Close the (locked) job's open leads but ``except_lead``; the platform acts on leads the
    acting user may not see (``jobs.lifecycle.close_open_leads`` tells their vendors)."""
    leads = await repository.open_on_job_for_update(
        session, leads_held_by(SYSTEM), job.id, except_lead=except_lead
    )
    now = clock.now()
    for lead in leads:
        lead.status = LEAD.transition(lead.status, "close")
        lead.closed_at = now
    await session.flush()
    return leads


async def has_engaged_lead(session: AsyncSession, job: Job) -> bool:
    """Has a vendor accepted a lead on the job (accepted or quoted, not yet decided)?"""
    return await repository.has_engaged(session, job.id)


# --- the vendor's views ----------------------------------------------------------------------


def _vendor_view(
    photos: dict[str, list[UploadView]],
    lead: Lead,
    job: Job,
    customer: User,
    conversation_id: str | None,
) -> LeadDetail | LeadPreview:
    """The vendor's view: contact details only while the vendor is engaged on the job; the
    job's photos while the lead is in play or won (as the upload scope has it)."""
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
        title=job.title,  # LeadPreview redacts contact details
        description=job.description,
    )


async def _job_photos(
    session: AsyncSession, actor: Actor, links: UploadLinks, leads: list[Lead]
) -> dict[str, list[UploadView]]:
    in_play = [lead.job_id for lead in leads if lead.status in PHOTO_LEAD_STATES]
    return await uploads.views_of(session, actor, links, "job", in_play)


async def list_leads(
    session: AsyncSession, actor: Actor, links: UploadLinks, **asked: Unpack[StatusPage]
) -> LeadList:
    require(actor, Role.VENDOR)
    limit = asked["limit"]
    rows = await repository.page_of_views(
        session, leads_held_by(actor), after=asked["cursor"], limit=limit, status=asked["status"]
    )
    found = page(rows, limit, lambda row: row[0].id)
    photos = await _job_photos(session, actor, links, [row[0] for row in found.items])
    return LeadList(
        items=[_vendor_view(photos, *row) for row in found.items], next_cursor=found.next_cursor
    )


async def get_lead(
    session: AsyncSession, actor: Actor, links: UploadLinks, lead_id: str
) -> LeadDetail | LeadPreview:
    require(actor, Role.VENDOR)
    row = await repository.get_view(session, leads_held_by(actor), lead_id)
    if row is None:
        raise NotFound("Lead not found")
    photos = await _job_photos(session, actor, links, [row[0]])
    return _vendor_view(photos, *row)


def _admin_view(lead: Lead) -> LeadAdmin:
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


async def get_for_admin(session: AsyncSession, actor: Actor, lead_id: str) -> LeadAdmin:
    require(actor, Role.ADMIN)
    lead = await repository.get(session, leads_held_by(actor), lead_id)
    if lead is None:
        raise NotFound("Lead not found")
    return _admin_view(lead)


async def on_job_for_admin(session: AsyncSession, actor: Actor, job_id: str) -> list[LeadAdmin]:
    """Every lead of a job, with its price (admins only)."""
    require(actor, Role.ADMIN)
    return [_admin_view(x) for x in await repository.on_job(session, leads_held_by(actor), job_id)]


# --- the customer's view ---------------------------------------------------------------------


async def engaged_vendors(session: AsyncSession, actor: Actor, job_id: str) -> EngagedVendorList:
    """The vendors who accepted the customer's job: limited profile plus contact details."""
    require(actor, Role.CUSTOMER, Role.ADMIN)
    job = await jobs.find(session, jobs_owned_by(actor), job_id)
    if job is None:
        raise NotFound("Job not found")
    rows = await repository.engaged_on_job(session, leads_on_jobs_of(actor), job.id)
    return EngagedVendorList(
        items=[
            EngagedVendor(
                vendor_id=lead.vendor_id,
                business_name=profile.business_name,
                rating_average=rating_average(profile),
                rating_count=profile.rating_count,
                badges=list(profile.badges),
                distance_miles=round(lead.distance_miles, 1),
                lead_status=lead.status,
                conversation_id=conversation_id,
                contact=VendorContact(name=user.name, phone=user.phone, email=user.email),
            )
            for lead, profile, user, conversation_id in rows
        ]
    )


# --- accepting and declining -----------------------------------------------------------------


async def _locked_with_job(session: AsyncSession, actor: Actor, lead_id: str) -> tuple[Job, Lead]:
    return await jobs.lock_with(
        session,
        jobs_involving(actor),
        lambda lock: repository.get(session, leads_held_by(actor), lead_id, lock=lock),
        job_of=lambda lead: lead.job_id,
        missing="Lead not found",
        job_id_of=repository.job_id_of(leads_held_by(actor), lead_id),
    )


async def accept(session: AsyncSession, actor: Actor, lead_id: str) -> LeadAccepted:
    require(actor, Role.VENDOR)
    # The job first, then the lead (the order every path takes), each in the vendor's scope.
    job = await jobs.lock_of_own_lead(session, actor, lead_id)
    lead = None if job is None else await repository.lock_own(session, actor.user_id, lead_id)
    if job is None or lead is None or lead.job_id != job.id:
        raise NotFound("Lead not found")
    ensure_in_job(lead.status)
    await repository.mark_accepted(
        session, lead.id, LEAD.transition(lead.status, "accept"), clock.now()
    )
    conversation_id = await messaging.start_conversation(
        session,
        job_id=job.id,
        lead_id=lead.id,
        customer_id=job.customer_id,
        vendor_id=lead.vendor_id,
    )
    payload = {"lead_id": lead.id, "vendor_id": lead.vendor_id, "conversation_id": conversation_id}
    parties = JobParties(job.id, job.customer_id, lead.vendor_id)
    event_id = parties.emit(session, EventType.LEAD_ACCEPTED, actor, payload)
    return LeadAccepted(
        lead_id=lead.id,
        conversation_id=conversation_id,
        event_id=event_id,
        message=ACCEPTED_MESSAGE,
    )


async def decline(
    session: AsyncSession, actor: Actor, settings: Settings, lead_id: str, reason: str | None
) -> LeadDeclined:
    require(actor, Role.VENDOR)
    job, lead = await _locked_with_job(session, actor, lead_id)
    ensure_in_job(lead.status)
    lead.status = LEAD.transition(lead.status, "decline")
    lead.declined_at = clock.now()
    lead.decline_reason = reason
    await session.flush()
    payload = {"lead_id": lead.id, "admin": {"reason": reason}}
    event_id = vendor_of(lead).emit(session, EventType.LEAD_DECLINED, actor, payload)
    if job.status == "live":
        # The platform offers the replacement lead, not the vendor who declined: the new vendor
        # must not learn that a competitor had the job before it.
        await offer_leads(session, SYSTEM, settings, job)
    return LeadDeclined(lead_id=lead.id, status=lead.status, event_id=event_id)


# --- the lead's part in quoting (each on a job the caller has locked) -------------------------


async def lock_own_on_job(session: AsyncSession, actor: Actor, job: Job) -> Lead | None:
    """The acting vendor's lead on the job, locked (None if it has none)."""
    require(actor, Role.VENDOR)
    return await repository.on_job_for_update(session, leads_held_by(actor), job.id)


async def ensure_vendor_in_job(session: AsyncSession, actor: Actor, job: Job) -> None:
    """For a vendor acting on the (locked) job: 409 ``NO_LONGER_AVAILABLE`` if it is out of it
    (its lead declined, expired or closed), before any state is looked at. Other actors pass."""
    if not actor.is_vendor:
        return
    lead = await repository.on_job_for_update(session, leads_held_by(actor), job.id)
    if lead is not None:
        ensure_in_job(lead.status)


async def lock_quoted(session: AsyncSession, actor: Actor, lead_id: str) -> Lead:
    """The lead a quote was sent on, locked: the vendor's own, or one on the customer's job."""
    lead = await repository.for_update(
        session, leads_held_by(actor) | leads_on_jobs_of(actor), lead_id
    )
    if lead is None:
        raise NotFound("Lead not found")
    return lead


def quote_sent(lead: Lead) -> None:
    lead.status = LEAD.transition(lead.status, "send_quote")


def reopen(lead: Lead) -> None:
    """The lead's quote was rejected or withdrawn: the vendor may quote again."""
    lead.status = LEAD.transition(lead.status, "reopen")


def win(lead: Lead) -> None:
    lead.status = LEAD.transition(lead.status, "win")


async def winning_lead_ids(session: AsyncSession, job: Job) -> list[str]:
    """The awarded vendor's lead on the job (the platform's read, e.g. settling a dispute)."""
    assert job.awarded_vendor_id is not None
    return await repository.ids_of_vendor_on_job(
        session, leads_held_by(SYSTEM), job.id, job.awarded_vendor_id
    )
