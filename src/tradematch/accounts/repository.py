from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import LoginAttempt, User
from tradematch.vendors.models import VendorProfile, VendorTrade


async def email_taken(session: AsyncSession, email: str) -> bool:
    row = await session.execute(select(User.id).where(func.lower(User.email) == email.lower()))
    return row.first() is not None


async def by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    return result.scalar_one_or_none()


async def by_id(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def vendor_profile(
    session: AsyncSession, vendor_id: str, *, lock: bool = False
) -> VendorProfile | None:
    statement = select(VendorProfile).where(VendorProfile.user_id == vendor_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def vendor_trades(session: AsyncSession, vendor_id: str) -> list[str]:
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


async def recent_failures(
    session: AsyncSession, buckets: list[str], window_seconds: int
) -> list[tuple[str, int, datetime]]:
    """For each bucket with failures in the window: how many, and when the oldest was."""
    since = datetime.now(UTC) - timedelta(seconds=window_seconds)
    result = await session.execute(
        select(LoginAttempt.bucket, func.count(), func.min(LoginAttempt.created_at))
        .where(LoginAttempt.bucket.in_(buckets), LoginAttempt.created_at > since)
        .group_by(LoginAttempt.bucket)
    )
    return [(bucket, int(count), oldest) for bucket, count, oldest in result.all()]


async def record_failure(session: AsyncSession, buckets: list[str]) -> None:
    await session.execute(insert(LoginAttempt), [{"bucket": b} for b in buckets])


async def forget_failures(session: AsyncSession, window_seconds: int) -> int:
    """Drop failed logins older than the rate-limit window (they no longer count)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=window_seconds)
    result = await session.execute(delete(LoginAttempt).where(LoginAttempt.created_at <= cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
