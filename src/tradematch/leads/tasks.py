"""Timed lead transitions, run by the scheduler (``worker/scheduler.py``).

Each sweep has two halves: a finder that lists candidate job ids without taking locks, and a
per-job step that runs in a transaction of its own, locks the job with ``FOR NO KEY UPDATE SKIP
LOCKED`` (a job another transaction holds, be it a request or another worker, is left for the
next run) and decides on the rows as they are under that lock. Lock order is the usual one:
the job, then its leads. Because the decision is made on locked, freshly read rows, a
transition happens once however many workers run.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import SYSTEM
from tradematch.authz.scopes import jobs_owned_by, leads_held_by
from tradematch.core.config import Settings
from tradematch.events.context import for_parties
from tradematch.events.types import EventType
from tradematch.jobs import service as jobs
from tradematch.jobs.models import Job
from tradematch.kit.text import redact_contact_details
from tradematch.leads import repository
from tradematch.leads.service import has_engaged_lead, offer_leads, vendor_of
from tradematch.leads.states import LEAD


async def takes_new_leads(
    session: AsyncSession, job: Job, settings: Settings, now: datetime
) -> bool:
    """Live, and not about to expire: a job past ``job_ttl_hours`` that no vendor has accepted
    is due to expire, and offering it to someone only to close the lead at once is noise. (A job
    a vendor has accepted stays live, and keeps being topped up.)"""
    if job.status != "live" or job.published_at is None:
        return False
    if job.published_at > now - timedelta(hours=settings.job_ttl_hours):
        return True
    return await has_engaged_lead(session, job)


async def _claim(session: AsyncSession, job_id: str) -> Job | None:
    return await jobs.find(session, jobs_owned_by(SYSTEM), job_id, skip_locked=True)


async def jobs_with_expired_offers(
    session: AsyncSession, settings: Settings, now: datetime, after: str | None, limit: int
) -> list[str]:
    return await repository.jobs_with_expired_offers(
        session, leads_held_by(SYSTEM), now, after=after, limit=limit
    )


async def expire_offers(
    session: AsyncSession, settings: Settings, job_id: str, now: datetime
) -> Counter[str]:
    """``offered → expired`` for the job's leads past their expiry (each vendor is told); then,
    if the job still takes leads, the next best vendors are offered it (contract §4)."""
    done: Counter[str] = Counter()
    job = await _claim(session, job_id)
    if job is None:
        return done
    expired = await repository.expired_offers_for_update(
        session, leads_held_by(SYSTEM), job.id, now
    )
    if not expired:
        return done  # another worker (or the vendor) got there first
    for lead in expired:
        lead.status = LEAD.transition(lead.status, "expire")
    await session.flush()
    for lead in expired:
        payload = {"lead_id": lead.id, "status": lead.status}
        # The vendor never accepted: the title as its masked lead shows it.
        context = for_parties(None, lead.vendor_id, job_title=redact_contact_details(job.title))
        vendor_of(lead).emit(session, EventType.LEAD_EXPIRED, SYSTEM, payload, context)
    done["lead_expired"] = len(expired)
    if await takes_new_leads(session, job, settings, now):
        done["lead_offered"] = len(await offer_leads(session, SYSTEM, settings, job))
    return done


async def jobs_short_of_leads(
    session: AsyncSession, settings: Settings, now: datetime, after: str | None, limit: int
) -> list[str]:
    return await jobs.live_short_of_leads(
        session,
        now - timedelta(hours=settings.job_ttl_hours),
        settings.max_open_leads,
        after=after,
        limit=limit,
    )


async def top_up(
    session: AsyncSession, settings: Settings, job_id: str, now: datetime
) -> Counter[str]:
    """Offer a live job to more vendors until it has ``max_open_leads`` open leads (vendors who
    joined, widened their radius or started accepting leads since it was published)."""
    done: Counter[str] = Counter()
    job = await _claim(session, job_id)
    if job is None or not await takes_new_leads(session, job, settings, now):
        return done
    offered = await offer_leads(session, SYSTEM, settings, job)
    if offered:
        done["lead_offered"] = len(offered)
    return done
