"""Every SQL statement on disputes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.scopes import DisputeScope
from tradematch.disputes.models import Dispute
from tradematch.kit.repository import add as add
from tradematch.kit.repository import one_or_none

LISTED = 200  # the admin's list shows this many, newest first


async def get(
    session: AsyncSession, scope: DisputeScope, dispute_id: str, *, lock: bool = False
) -> Dispute | None:
    statement = select(Dispute).where(Dispute.id == dispute_id, scope)
    return await one_or_none(session, statement, lock=lock)


async def newest(session: AsyncSession, scope: DisputeScope, status: str | None) -> list[Dispute]:
    statement = (
        select(Dispute)
        .where(scope)
        .order_by(Dispute.created_at.desc(), Dispute.id.desc())
        .limit(LISTED)
    )
    if status is not None:
        statement = statement.where(Dispute.status == status)
    return list((await session.execute(statement)).scalars())
