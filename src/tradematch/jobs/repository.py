"""Every SQL statement on jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Exists,
    ScalarSelect,
    String,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tradematch.authz.scopes import (
    JobScope,
    jobs_involving_bound_vendor,
    leads_held_by_bound_vendor,
)
from tradematch.jobs.models import Job
from tradematch.kit.driver import DriverStatement
from tradematch.kit.repository import add as add
from tradematch.kit.repository import keyset_page, one_or_none, seek
from tradematch.leads.models import Lead
from tradematch.leads.states import ENGAGED_LEAD_STATES, OPEN_LEAD_STATES

# The leads a job shows as assigned: those still open, and the one that won.
ASSIGNED_LEAD_STATES = (*OPEN_LEAD_STATES, "quote_accepted")


@dataclass(frozen=True, slots=True)
class LockedJob:
    """What a hot path needs of a job it has locked."""

    id: str
    customer_id: str
    status: str


# Every lead acceptance runs it: compiled once, sent by the driver (kit/driver.py).
_LOCK_OF_VENDOR_LEAD = DriverStatement(
    select(Job.id, Job.customer_id, Job.status)
    .where(
        Job.id
        == select(Lead.job_id)
        .where(
            Lead.id == bindparam("lead_id", type_=String), leads_held_by_bound_vendor("vendor_id")
        )
        .scalar_subquery(),
        jobs_involving_bound_vendor("vendor_id"),
    )
    .with_for_update(key_share=True)
)


async def lock_of_vendor_lead(
    session: AsyncSession, vendor_id: str, lead_id: str
) -> LockedJob | None:
    """The job of the vendor's own lead, locked (FOR NO KEY UPDATE, as ``get``), in the vendor's
    scope; None if out of reach."""
    row = await _LOCK_OF_VENDOR_LEAD.fetchrow(session, lead_id=lead_id, vendor_id=vendor_id)
    return None if row is None else LockedJob(*row)


async def get(
    session: AsyncSession,
    scope: JobScope,
    job_id: str | ScalarSelect[str],
    *,
    lock: bool = False,
    skip_locked: bool = False,
) -> Job | None:
    """A job in scope. ``lock`` takes FOR NO KEY UPDATE (never plain FOR UPDATE: the event log's
    foreign key takes KEY SHARE on jobs, see events.log); ``skip_locked`` skips a job another
    transaction holds (the scheduler retries it later)."""
    statement = select(Job).where(Job.id == job_id, scope)
    return await one_or_none(
        session, statement, lock=lock, no_key_update=True, skip_locked=skip_locked
    )


def _leads_assigned() -> ScalarSelect[Any]:
    return (
        select(func.count())
        .where(Lead.job_id == Job.id, Lead.status.in_(ASSIGNED_LEAD_STATES))
        .correlate(Job)
        .scalar_subquery()
    )


async def get_with_leads_assigned(
    session: AsyncSession, scope: JobScope, job_id: str
) -> tuple[Job, int] | None:
    row = (
        await session.execute(select(Job, _leads_assigned()).where(Job.id == job_id, scope))
    ).first()
    return None if row is None else (row[0], int(row[1]))


async def page_with_leads_assigned(
    session: AsyncSession, scope: JobScope, *, after: str | None, limit: int, status: str | None
) -> list[tuple[Job, int]]:
    """Jobs in scope, newest first (ids sort by time), each with its count of assigned leads."""
    statement = select(Job, _leads_assigned()).where(scope)
    if status is not None:
        statement = statement.where(Job.status == status)
    rows = await session.execute(keyset_page(statement, Job.id, after=after, limit=limit))
    return [(job, int(count)) for job, count in rows.all()]


# The scheduler's candidate reads: ids in id order after ``after``, without locks. The item's own
# transaction locks the job (FOR NO KEY UPDATE SKIP LOCKED) and decides on the locked row.


def _engaged_lead_exists(job_id: InstrumentedAttribute[str]) -> Exists:
    return exists().where(Lead.job_id == job_id, Lead.status.in_(ENGAGED_LEAD_STATES))


# What makes a job due for each of the scheduler's timed transitions, given the cutoff.
_DUE: dict[str, Callable[[datetime], tuple[ColumnElement[bool], ...]]] = {
    # Live, published at or before the cutoff, and no vendor has engaged with it.
    "expire": lambda cutoff: (
        Job.status == "live",
        Job.published_at <= cutoff,
        ~_engaged_lead_exists(Job.id),
    ),
    # Completed at or before the cutoff.
    "close": lambda cutoff: (Job.status == "completed", Job.completed_at <= cutoff),
}


async def jobs_due(
    session: AsyncSession,
    scope: JobScope,
    action: str,
    cutoff: datetime,
    *,
    after: str | None,
    limit: int,
) -> list[str]:
    """Jobs in scope due for ``action`` (``expire`` or ``close``) at ``cutoff``."""
    return await _ids(session, scope, *_DUE[action](cutoff), after=after, limit=limit)


async def _ids(
    session: AsyncSession,
    scope: JobScope,
    *conditions: ColumnElement[bool],
    after: str | None,
    limit: int,
) -> list[str]:
    batch = seek(select(Job.id).where(scope, *conditions), Job.id, after=after, limit=limit)
    return list((await session.execute(batch)).scalars())


async def live_jobs_short_of_leads(
    session: AsyncSession,
    scope: JobScope,
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
    return await _ids(
        session,
        scope,
        Job.status == "live",
        or_(Job.published_at > published_after, _engaged_lead_exists(Job.id)),
        open_leads < target,
        after=after,
        limit=limit,
    )
