"""Every SQL statement on milestones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import MilestoneScope
from tradematch.escrow.models import EscrowAccount
from tradematch.kit.repository import add_all as add_all
from tradematch.kit.repository import one_or_none
from tradematch.milestones.models import Milestone


async def get(
    session: AsyncSession, scope: MilestoneScope, milestone_id: str, *, lock: bool = False
) -> Milestone | None:
    statement = select(Milestone).where(Milestone.id == milestone_id, scope)
    return await one_or_none(session, statement, lock=lock)


async def for_job(session: AsyncSession, scope: MilestoneScope, job_id: str) -> list[Milestone]:
    result = await session.execute(
        select(Milestone).where(Milestone.job_id == job_id, scope).order_by(Milestone.position)
    )
    return list(result.scalars())


async def all_released(session: AsyncSession, job_id: str) -> bool:
    result = await session.execute(
        select(Milestone.id)
        .where(Milestone.job_id == job_id, Milestone.status != "released")
        .limit(1)
    )
    return result.first() is None


async def due_for_auto_approval(
    session: AsyncSession,
    scope: MilestoneScope,
    submitted_before: datetime,
    limit: int,
    *,
    escrow_states: tuple[str, ...],
) -> list[tuple[str, str]]:
    """Submitted milestones due for approval whose escrow can pay them now. Those whose escrow
    is frozen (a dispute) or settled are left out, so they never fill a batch and starve the
    milestones behind them."""
    result = await session.execute(
        select(Milestone.id, Milestone.job_id)
        .join(EscrowAccount, EscrowAccount.id == Milestone.escrow_id)
        .where(
            scope,
            Milestone.status == "submitted",
            Milestone.review_started_at <= submitted_before,
            EscrowAccount.status.in_(escrow_states),
        )
        .order_by(Milestone.review_started_at)
        .limit(limit)
    )
    return [(m, j) for m, j in result.all()]


async def restart_reviews(session: AsyncSession, job_id: str, now: datetime) -> int:
    """The job's submitted milestones start a new review window at ``now``."""
    result = await session.execute(
        update(Milestone)
        .where(Milestone.job_id == job_id, Milestone.status == "submitted")
        .values(review_started_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def end_unpaid(
    session: AsyncSession, job_id: str, *, sources: tuple[str, ...], status: str
) -> list[str]:
    """Move the job's milestones in ``sources`` to ``status``; their ids."""
    result = await session.execute(
        update(Milestone)
        .where(Milestone.job_id == job_id, Milestone.status.in_(sources))
        .values(status=status)
        .returning(Milestone.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())
