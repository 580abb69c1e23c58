"""Timed job transitions, run by the scheduler (``worker/scheduler.py``): expiry of live jobs
nobody engaged with, and closing completed jobs. Same shape as ``leads/tasks.py``: a lock-free
finder, then one transaction per job that locks it (``FOR NO KEY UPDATE SKIP LOCKED``) and
decides on the locked row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import SYSTEM
from tradematch.authz.scopes import jobs_owned_by
from tradematch.core.config import Settings
from tradematch.events.context import for_parties
from tradematch.events.log import emit
from tradematch.events.types import EventType
from tradematch.jobs import repository
from tradematch.jobs import service as jobs
from tradematch.jobs.lifecycle import close_open_leads
from tradematch.jobs.models import Job
from tradematch.leads import service as leads


def _expiry_cutoff(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(hours=settings.job_ttl_hours)


def _closing_cutoff(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=settings.job_auto_close_days)


def _due(
    action: str, cutoff: Callable[[Settings, datetime], datetime]
) -> Callable[[AsyncSession, Settings, datetime, str | None, int], Awaitable[list[str]]]:
    """The scheduler's finder of the jobs due for ``action``: lock-free, in id order."""

    async def find(
        session: AsyncSession, settings: Settings, now: datetime, after: str | None, limit: int
    ) -> list[str]:
        scope = jobs_owned_by(SYSTEM)
        return await repository.jobs_due(
            session, scope, action, cutoff(settings, now), after=after, limit=limit
        )

    return find


jobs_due_for_expiry = _due("expire", _expiry_cutoff)
jobs_due_for_closing = _due("close", _closing_cutoff)


async def _claim(
    session: AsyncSession,
    job_id: str,
    status: str,
    moment: Callable[[Job], datetime | None],
    cutoff: datetime,
) -> Job | None:
    """The job, locked, if it is still ``status`` since a ``moment`` at or before ``cutoff``;
    None if not, or if another transaction holds it (the next run retries it)."""
    job = await jobs.find(session, jobs_owned_by(SYSTEM), job_id, skip_locked=True)
    if job is None or job.status != status:
        return None
    since = moment(job)
    return job if since is not None and since <= cutoff else None


def _published_at(job: Job) -> datetime | None:
    return job.published_at


def _completed_at(job: Job) -> datetime | None:
    return job.completed_at


async def expire(
    session: AsyncSession, settings: Settings, job_id: str, now: datetime
) -> Counter[str]:
    """``live → expired``, ``job_ttl_hours`` after publishing, when no vendor has accepted a
    lead; its open leads close and their vendors hear only "This job is no longer available".

    A job on which a vendor has accepted (the customer may be about to take the quote) stays
    live: it leaves that state by an award or the customer cancelling.
    """
    done: Counter[str] = Counter()
    job = await _claim(session, job_id, "live", _published_at, _expiry_cutoff(settings, now))
    if job is None:
        return done
    # Asked again under the job's lock: an accept that committed after the finder's read shows
    # here (it locks the job before its lead, so none can be half-way).
    if await leads.has_engaged_lead(session, job):
        return done
    jobs.change(job, "expire", now)
    await session.flush()
    context = for_parties(job.customer_id, None, job_title=job.title)
    jobs.customer_of(job).emit(
        session, EventType.JOB_EXPIRED, SYSTEM, {"status": job.status}, context
    )
    closed = await close_open_leads(session, SYSTEM, job)
    done["job_expired"] = 1
    if closed:
        done["lead_closed"] = len(closed)
    return done


async def auto_close(
    session: AsyncSession, settings: Settings, job_id: str, now: datetime
) -> Counter[str]:
    """``completed → closed`` ``job_auto_close_days`` after completion (a review closes it
    sooner)."""
    done: Counter[str] = Counter()
    job = await _claim(session, job_id, "completed", _completed_at, _closing_cutoff(settings, now))
    if job is None:
        return done
    jobs.change(job, "close", now)
    await session.flush()
    parties = [job.customer_id, *([job.awarded_vendor_id] if job.awarded_vendor_id else [])]
    emit(
        session,
        EventType.JOB_CLOSED,
        actor=SYSTEM,
        job_id=job.id,
        payload={"status": job.status, "reason": "auto_close"},
        audience=parties,
        context=for_parties(job.customer_id, job.awarded_vendor_id, job_title=job.title),
    )
    done["job_closed"] = 1
    return done
