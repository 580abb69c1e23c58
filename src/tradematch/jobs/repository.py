from __future__ import annotations

from datetime import datetime

from sqlalchemy import Exists, Row, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tradematch.accounts.models import User
from tradematch.authz.scopes import JobScope
from tradematch.jobs.models import Job
from tradematch.leads.models import Lead
from tradematch.leads.states import ENGAGED_LEAD_STATES, OPEN_LEAD_STATES
from tradematch.messaging.models import Conversation
from tradematch.vendors.models import VendorProfile


async def get(
    session: AsyncSession,
    scope: JobScope,
    job_id: str,
    *,
    lock: bool = False,
    skip_locked: bool = False,
) -> Job | None:
    """A job in scope. ``lock`` takes FOR NO KEY UPDATE (never plain FOR UPDATE: the event log's
    foreign key takes KEY SHARE on jobs, see events.log); ``skip_locked`` skips a job another
    transaction holds (the scheduler retries it later)."""
    statement = select(Job).where(Job.id == job_id, scope)
    if lock or skip_locked:
        # Refresh a row already in the session: the locked version is the one to decide on.
        statement = statement.with_for_update(
            key_share=True, skip_locked=skip_locked
        ).execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_jobs(
    session: AsyncSession, scope: JobScope, *, limit: int, before: str | None, status: str | None
) -> list[Job]:
    statement = select(Job).where(scope)
    if before is not None:
        statement = statement.where(Job.id < before)
    if status is not None:
        statement = statement.where(Job.status == status)
    result = await session.execute(statement.order_by(Job.id.desc()).limit(limit))
    return list(result.scalars())


async def open_lead_counts(session: AsyncSession, job_ids: list[str]) -> dict[str, int]:
    if not job_ids:
        return {}
    result = await session.execute(
        select(Lead.job_id, func.count())
        .where(Lead.job_id.in_(job_ids), Lead.status.in_((*OPEN_LEAD_STATES, "quote_accepted")))
        .group_by(Lead.job_id)
    )
    return {job_id: int(count) for job_id, count in result.all()}


async def engaged_vendors(
    session: AsyncSession, job_id: str
) -> list[Row[Lead, VendorProfile, User, str]]:
    """Vendors whose lead on the job is accepted (or further), with contact and conversation."""
    result = await session.execute(
        select(Lead, VendorProfile, User, Conversation.id)
        .join(VendorProfile, VendorProfile.user_id == Lead.vendor_id)
        .join(User, User.id == Lead.vendor_id)
        .outerjoin(Conversation, Conversation.lead_id == Lead.id)
        .where(Lead.job_id == job_id, Lead.status.in_(ENGAGED_LEAD_STATES))
        .order_by(Lead.accepted_at, Lead.id)
    )
    return list(result.all())


# The scheduler's candidate reads: ids in id order after ``after``, without locks. The item's own
# transaction locks the job (FOR NO KEY UPDATE SKIP LOCKED) and decides on the locked row.


def _engaged_lead_exists(job_id: InstrumentedAttribute[str] | str) -> Exists:
    return exists().where(Lead.job_id == job_id, Lead.status.in_(ENGAGED_LEAD_STATES))


async def live_jobs_due_for_expiry(
    session: AsyncSession, published_before: datetime, *, after: str | None, limit: int
) -> list[str]:
    """Live jobs published at or before the cutoff that no vendor has engaged with."""
    statement = select(Job.id).where(
        Job.status == "live", Job.published_at <= published_before, ~_engaged_lead_exists(Job.id)
    )
    if after is not None:
        statement = statement.where(Job.id > after)
    return list((await session.execute(statement.order_by(Job.id).limit(limit))).scalars())


async def has_engaged_lead(session: AsyncSession, job_id: str) -> bool:
    """Has a vendor accepted a lead on the job (accepted or quoted, not yet decided)?"""
    return bool((await session.execute(select(_engaged_lead_exists(job_id)))).scalar_one())


async def live_jobs_short_of_leads(
    session: AsyncSession,
    published_after: datetime,
    target: int,
    *,
    after: str | None,
    limit: int,
) -> list[str]:
    """Live jobs with fewer than ``target`` open leads, except those due to expire (published
    at or before ``published_after`` with no vendor engaged)."""
    open_leads = (
        select(func.count())
        .where(Lead.job_id == Job.id, Lead.status.in_(OPEN_LEAD_STATES))
        .scalar_subquery()
    )
    statement = select(Job.id).where(
        Job.status == "live",
        or_(Job.published_at > published_after, _engaged_lead_exists(Job.id)),
        open_leads < target,
    )
    if after is not None:
        statement = statement.where(Job.id > after)
    return list((await session.execute(statement.order_by(Job.id).limit(limit))).scalars())


async def completed_jobs_due_for_closing(
    session: AsyncSession, completed_before: datetime, *, after: str | None, limit: int
) -> list[str]:
    statement = select(Job.id).where(
        Job.status == "completed", Job.completed_at <= completed_before
    )
    if after is not None:
        statement = statement.where(Job.id > after)
    return list((await session.execute(statement.order_by(Job.id).limit(limit))).scalars())
