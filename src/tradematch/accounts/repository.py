"""Every SQL statement on user accounts and failed logins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import LoginAttempt, User
from tradematch.kit.driver import DriverStatement


async def add(session: AsyncSession, user: User) -> User:
    session.add(user)
    await session.flush()
    return user


async def email_taken(session: AsyncSession, email: str) -> bool:
    row = await session.execute(select(User.id).where(func.lower(User.email) == email.lower()))
    return row.first() is not None


async def by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    return result.scalar_one_or_none()


async def by_id(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


# Every authenticated request runs it: compiled once, sent by the driver (kit/driver.py).
_ACTIVE_ROLE = DriverStatement(
    select(User.role).where(User.id == bindparam("user_id"), User.is_active)
)


async def active_role(session: AsyncSession, user_id: str) -> str | None:
    role: str | None = await _ACTIVE_ROLE.fetchval(session, user_id=user_id)
    return role


async def active_roles(conn: Any, user_ids: Sequence[str]) -> dict[str, str]:
    """The role of each of ``user_ids`` whose account is still active (on a raw asyncpg
    connection: the live-update hub's)."""
    rows = await conn.fetch(
        "SELECT id, role FROM users WHERE id = ANY($1::text[]) AND is_active", list(user_ids)
    )
    return {row["id"]: row["role"] for row in rows}


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


REGISTER_PREFIX = "register:"


async def forget_failures(
    session: AsyncSession, window_seconds: int, register_window_seconds: int
) -> int:
    """Drop attempts older than their rate-limit window (they no longer count): registrations
    after the registration window, failed logins after the login window."""
    now = datetime.now(UTC)
    registration = LoginAttempt.bucket.startswith(REGISTER_PREFIX, autoescape=True)
    result = await session.execute(
        delete(LoginAttempt).where(
            or_(
                and_(
                    registration,
                    LoginAttempt.created_at <= now - timedelta(seconds=register_window_seconds),
                ),
                and_(
                    ~registration,
                    LoginAttempt.created_at <= now - timedelta(seconds=window_seconds),
                ),
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
