from __future__ import annotations

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import User, VendorProfile
from tradematch.authz.scopes import JobScope
from tradematch.jobs.models import Job
from tradematch.leads.models import Lead
from tradematch.leads.states import ENGAGED_LEAD_STATES, OPEN_LEAD_STATES
from tradematch.messaging.models import Conversation


async def get(
    session: AsyncSession, scope: JobScope, job_id: str, *, lock: bool = False
) -> Job | None:
    statement = select(Job).where(Job.id == job_id, scope)
    if lock:
        # Refresh a row already in the session: the locked version is the one to decide on.
        statement = statement.with_for_update(key_share=True).execution_options(
            populate_existing=True
        )
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
