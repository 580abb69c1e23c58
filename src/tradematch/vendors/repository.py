"""Every SQL statement on vendor profiles and their trades."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import User
from tradematch.authz.scopes import VendorProfileScope
from tradematch.kit.repository import add as add
from tradematch.kit.repository import one_or_none
from tradematch.vendors.models import VendorProfile, VendorTrade


async def get(
    session: AsyncSession, scope: VendorProfileScope, vendor_id: str, *, lock: bool = False
) -> VendorProfile | None:
    statement = select(VendorProfile).where(VendorProfile.user_id == vendor_id, scope)
    return await one_or_none(session, statement, lock=lock)


async def exists(session: AsyncSession, scope: VendorProfileScope, vendor_id: str) -> bool:
    statement = select(VendorProfile.user_id).where(VendorProfile.user_id == vendor_id, scope)
    return (await session.execute(statement)).first() is not None


async def outcode_of_user(session: AsyncSession, user_id: str) -> str | None:
    """Where a viewer is (the district of their own postcode), for distances."""
    result = await session.execute(select(User.outcode).where(User.id == user_id))
    return result.scalar_one_or_none()


async def trades(session: AsyncSession, vendor_id: str) -> list[str]:
    result = await session.execute(
        select(VendorTrade.trade)
        .where(VendorTrade.vendor_id == vendor_id)
        .order_by(VendorTrade.trade)
    )
    return list(result.scalars())


async def replace_trades(session: AsyncSession, vendor_id: str, trades: list[str]) -> None:
    await session.execute(delete(VendorTrade).where(VendorTrade.vendor_id == vendor_id))
    await session.execute(
        insert(VendorTrade), [{"vendor_id": vendor_id, "trade": t} for t in trades]
    )


async def add_rating(session: AsyncSession, vendor_id: str, rating: int) -> None:
    await session.execute(
        update(VendorProfile)
        .where(VendorProfile.user_id == vendor_id)
        .values(
            rating_count=VendorProfile.rating_count + 1,
            rating_total=VendorProfile.rating_total + rating,
        )
    )
