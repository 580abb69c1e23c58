"""Every SQL statement on idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.idempotency.models import IdempotencyRecord


async def try_lock(session: AsyncSession, scope: str, key: str) -> bool:
    """Lock (scope, key) until the transaction ends, unless another transaction holds it."""
    result = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"{scope}\n{key}"},
    )
    return bool(result.scalar_one())


async def live(session: AsyncSession, scope: str, key: str) -> IdempotencyRecord | None:
    """The stored, unexpired record of (scope, key)."""
    result = await session.execute(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at > func.now(),
        )
    )
    return result.scalar_one_or_none()


async def save(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    status_code: int,
    response_body: bytes,
    content_type: str,
    expires_at: datetime,
) -> None:
    """Store the response (replacing an expired record of the same key)."""
    values = {
        "scope": scope,
        "key": key,
        "fingerprint": fingerprint,
        "status_code": status_code,
        "response_body": response_body,
        "content_type": content_type,
        "expires_at": expires_at,
        "created_at": func.now(),
    }
    statement = insert(IdempotencyRecord).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["scope", "key"],
        set_={k: statement.excluded[k] for k in values if k not in ("scope", "key")},
    )
    await session.execute(statement)


async def purge_expired(session: AsyncSession) -> int:
    result = await session.execute(text("DELETE FROM idempotency_keys WHERE expires_at <= now()"))
    return int(getattr(result, "rowcount", 0) or 0)
