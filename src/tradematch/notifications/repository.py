"""Every SQL statement of the notifications domain: queueing, the in-app inbox, preferences and
push subscriptions, replays, and the dispatcher's delivery (claims, leases, outcomes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import User
from tradematch.authz.scopes import NotificationScope
from tradematch.events.models import EventRecord
from tradematch.kit.repository import keyset_page
from tradematch.notifications.models import (
    Notification,
    NotificationCategoryPreference,
    NotificationInput,
    NotificationPreference,
    PushSubscription,
)
from tradematch.notifications.states import CATEGORIES, CHANNELS

_ROWS_PER_STATEMENT = 2000  # per statement: inputs as parameters (asyncpg allows 32,767)
MAX_PUSH_SUBSCRIPTIONS = 10  # per user; registering another drops the oldest


async def keep_inputs(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        await session.execute(
            insert(NotificationInput)
            .values(rows[start : start + _ROWS_PER_STATEMENT])
            .on_conflict_do_nothing(index_elements=["event_id"])
        )


# The rows the recipients' preferences let through (``tm_notification_wanted``, the rule the
# event append applies too), each (event, recipient, channel) once.
_QUEUE = text(
    "INSERT INTO notifications (id, event_id, user_id, channel, title, body)"
    " SELECT x->>'id', x->>'event_id', x->>'user_id', x->>'channel', x->>'title', x->>'body'"
    " FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS x"
    " WHERE tm_notification_wanted(x->>'user_id', x->>'channel', x->>'category')"
    " ON CONFLICT ON CONSTRAINT uq_notifications_event_user_channel DO NOTHING"
    " RETURNING id"
)


async def queue(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert the outbox rows the recipients' preferences let through; (event, recipient,
    channel) is unique, so re-queueing is harmless. Returns how many rows were new."""
    inserted = 0
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        batch = json.dumps(rows[start : start + _ROWS_PER_STATEMENT])
        inserted += len((await session.execute(_QUEUE, {"rows": batch})).all())
    return inserted


# The in-app inbox ----------------------------------------------------------------------------


def _in_app(scope: NotificationScope) -> Any:
    return and_(scope, Notification.channel == "in_app")


async def inbox(
    session: AsyncSession,
    scope: NotificationScope,
    *,
    before: str | None,
    limit: int,
    unread_only: bool,
) -> list[Any]:
    """A page of the in-app notifications in scope, newest first (ids sort by time), one more
    than ``limit``."""
    statement = (
        select(
            Notification.id,
            Notification.event_id,
            Notification.title,
            Notification.body,
            Notification.created_at,
            Notification.read_at,
            EventRecord.type.label("event_type"),
            EventRecord.job_id,
        )
        .join(EventRecord, EventRecord.id == Notification.event_id)
        .where(_in_app(scope))
    )
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    page = keyset_page(statement, Notification.id, after=before, limit=limit)
    return list((await session.execute(page)).all())


async def unread_count(session: AsyncSession, scope: NotificationScope) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(_in_app(scope), Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, scope: NotificationScope, notification_id: str, now: datetime
) -> datetime | None:
    """Mark an in-app notification in scope read (the first reading time is kept); None if
    there is no such notification in scope."""
    read_at = await session.scalar(
        update(Notification)
        .where(_in_app(scope), Notification.id == notification_id)
        .values(read_at=func.coalesce(Notification.read_at, now))
        .returning(Notification.read_at)
    )
    return read_at


# Preferences and push subscriptions -----------------------------------------------------------


async def preferences(session: AsyncSession, user_id: str) -> dict[str, bool]:
    rows = await session.execute(
        select(NotificationPreference.channel, NotificationPreference.enabled).where(
            NotificationPreference.user_id == user_id
        )
    )
    stored = {row.channel: row.enabled for row in rows}
    return {channel: stored.get(channel, True) for channel in CHANNELS}


async def set_preferences(session: AsyncSession, user_id: str, changes: Mapping[str, bool]) -> None:
    if not changes:
        return
    statement = insert(NotificationPreference).values(
        [{"user_id": user_id, "channel": c, "enabled": on} for c, on in changes.items()]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "channel"],
            set_={"enabled": statement.excluded.enabled, "updated_at": func.now()},
        )
    )


async def category_preferences(
    session: AsyncSession, user_id: str, channel: str
) -> dict[str, bool]:
    """Each category's setting on ``channel`` (on unless turned off)."""
    rows = await session.execute(
        select(
            NotificationCategoryPreference.category, NotificationCategoryPreference.enabled
        ).where(
            NotificationCategoryPreference.user_id == user_id,
            NotificationCategoryPreference.channel == channel,
        )
    )
    stored = {row.category: row.enabled for row in rows}
    return {category: stored.get(category, True) for category in CATEGORIES}


async def set_category_preferences(
    session: AsyncSession, user_id: str, channel: str, changes: Mapping[str, bool]
) -> None:
    if not changes:
        return
    statement = insert(NotificationCategoryPreference).values(
        [
            {"user_id": user_id, "category": category, "channel": channel, "enabled": on}
            for category, on in changes.items()
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "category", "channel"],
            set_={"enabled": statement.excluded.enabled, "updated_at": func.now()},
        )
    )


async def is_active_user(session: AsyncSession, user_id: str) -> bool:
    found = await session.scalar(select(User.id).where(User.id == user_id, User.is_active))
    return found is not None


async def email_subject(session: AsyncSession, event_id: str, user_id: str) -> Any | None:
    """What an email needs to say what it is about: its event's type, job and payload, and the
    recipient's role (None if either is gone)."""
    row = (
        await session.execute(
            select(
                EventRecord.type.label("event_type"),
                EventRecord.job_id,
                EventRecord.payload,
                User.role,
            )
            .join(User, User.id == user_id)
            .where(EventRecord.id == event_id)
        )
    ).first()
    return row


async def push_subscription_count(session: AsyncSession, user_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(PushSubscription)
        .where(PushSubscription.user_id == user_id)
    )
    return int(count or 0)


async def save_push_subscription(
    session: AsyncSession, user_id: str, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    """Register (or move to this user, with new keys) the browser's subscription; keep at most
    ``MAX_PUSH_SUBSCRIPTIONS`` per user, dropping the oldest."""
    statement = insert(PushSubscription).values(
        user_id=user_id, endpoint=endpoint, p256dh=p256dh, auth=auth
    )
    saved = (
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["endpoint"],
                set_={
                    "user_id": statement.excluded.user_id,
                    "p256dh": statement.excluded.p256dh,
                    "auth": statement.excluded.auth,
                },
            ).returning(PushSubscription)
        )
    ).scalar_one()
    keep = (
        select(PushSubscription.id)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.id.desc())
        .limit(MAX_PUSH_SUBSCRIPTIONS)
    )
    await session.execute(
        delete(PushSubscription).where(
            PushSubscription.user_id == user_id, PushSubscription.id.not_in(keep)
        )
    )
    return saved


async def push_subscriptions_of(session: AsyncSession, user_id: str) -> list[PushSubscription]:
    rows = await session.scalars(
        select(PushSubscription)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.id)
    )
    return list(rows)


async def remove_push_subscription(session: AsyncSession, subscription_id: int) -> None:
    await session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))


# Replay ---------------------------------------------------------------------------------------


async def inputs_of(session: AsyncSession, event_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The kept notification context of each of these events (those that had one)."""
    if not event_ids:
        return {}
    result = await session.execute(
        select(NotificationInput.event_id, NotificationInput.context).where(
            NotificationInput.event_id.in_(event_ids)
        )
    )
    return {event_id: dict(context or {}) for event_id, context in result.all()}


async def revive_dead(session: AsyncSession, event_ids: list[str]) -> int:
    """Give the dead notifications of these events a fresh set of attempts."""
    if not event_ids:
        return 0
    revived = await session.execute(
        update(Notification)
        .where(Notification.event_id.in_(event_ids), Notification.status == "dead")
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=text("now()"),
            leased_until=None,
        )
        .returning(Notification.id)
    )
    return len(revived.all())


# Delivery (the dispatcher, notifications/delivery.py) ----------------------------------------
# Outbox time is the database's ``now()``, one clock for every worker process, so leases mean
# the same thing to all of them.

_CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM notifications
        WHERE status = 'pending' AND channel <> 'in_app' AND next_attempt_at <= now()
          AND attempts < :max_attempts
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE notifications AS n
    SET attempts = n.attempts + 1,
        leased_until = now() + make_interval(secs => :lease),
        next_attempt_at = now() + make_interval(secs => :lease)
    FROM due, users AS u
    WHERE n.id = due.id AND u.id = n.user_id
    RETURNING n.id, n.event_id, n.user_id, n.channel, n.title, n.body, n.attempts,
              n.created_at, CASE WHEN u.is_active THEN u.email END AS email, u.name
    """
)

# In-app notifications are delivered by being in the database: due ones are simply marked sent.
_DELIVER_IN_APP = text(
    """
    UPDATE notifications SET status = 'sent', sent_at = now(), attempts = attempts + 1,
                             leased_until = NULL
    WHERE id IN (
        SELECT id FROM notifications
        WHERE status = 'pending' AND channel = 'in_app' AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING extract(epoch FROM now() - created_at) AS waited
    """
)

# Rows whose final attempt never reported back (the worker died during it).
_PARK_EXHAUSTED = text(
    """
    UPDATE notifications
    SET status = 'dead', leased_until = NULL,
        last_error = coalesce(last_error || '; ', '') || 'lease expired on the final attempt'
    WHERE id IN (
        SELECT id FROM notifications
        WHERE status = 'pending' AND next_attempt_at <= now() AND attempts >= :max_attempts
          AND channel <> 'in_app'
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING channel
    """
)

_MARK_SENT = text(
    """
    UPDATE notifications
    SET status = 'sent', sent_at = coalesce(sent_at, now()), leased_until = NULL,
        last_error = NULL
    WHERE id = :id
    RETURNING extract(epoch FROM now() - created_at) AS waited
    """
)

# Only the claim that made this attempt may record its failure (``attempts`` fences it): if the
# lease ran out and another worker claimed the row meanwhile, that worker decides.
_MARK_FAILED = text(
    """
    UPDATE notifications
    SET status = CASE WHEN :final OR attempts >= :max_attempts THEN 'dead' ELSE 'pending' END,
        next_attempt_at = now() + make_interval(secs => :delay),
        leased_until = NULL,
        last_error = :error
    WHERE id = :id AND status = 'pending' AND attempts = :attempts
    RETURNING status
    """
)

# A claim whose send never began (the database went away while it was being composed): due
# again, the attempt not counted, fenced by ``attempts`` as above.
_PUT_BACK = text(
    """
    UPDATE notifications
    SET attempts = attempts - 1, leased_until = NULL,
        next_attempt_at = now() + make_interval(secs => :delay)
    WHERE id = :id AND status = 'pending' AND attempts = :attempts
    RETURNING id
    """
)

_DEAD_COUNTS = text(
    "SELECT channel, count(*) AS dead FROM notifications WHERE status = 'dead' GROUP BY channel"
)


async def claim_due(
    session: AsyncSession, *, limit: int, lease_seconds: float, max_attempts: int
) -> list[Any]:
    params = {"limit": limit, "lease": lease_seconds, "max_attempts": max_attempts}
    return list((await session.execute(_CLAIM, params)).all())


async def deliver_in_app(session: AsyncSession, *, limit: int) -> list[float]:
    rows = (await session.execute(_DELIVER_IN_APP, {"limit": limit})).all()
    return [float(row.waited) for row in rows]


async def park_exhausted(session: AsyncSession, *, limit: int, max_attempts: int) -> list[str]:
    params = {"limit": limit, "max_attempts": max_attempts}
    return [row.channel for row in (await session.execute(_PARK_EXHAUSTED, params)).all()]


async def mark_sent(session: AsyncSession, notification_id: str) -> float | None:
    waited = await session.scalar(_MARK_SENT, {"id": notification_id})
    return None if waited is None else float(waited)


async def mark_failed(
    session: AsyncSession,
    notification_id: str,
    *,
    attempts: int,
    error: str,
    delay_seconds: float,
    max_attempts: int,
    final: bool,
) -> str | None:
    params: dict[str, Any] = {
        "id": notification_id,
        "attempts": attempts,
        "error": error,
        "delay": delay_seconds,
        "max_attempts": max_attempts,
        "final": final,
    }
    status: str | None = await session.scalar(_MARK_FAILED, params)
    return status


async def put_back(
    session: AsyncSession, notification_id: str, *, attempts: int, delay_seconds: float
) -> bool:
    params = {"id": notification_id, "attempts": attempts, "delay": delay_seconds}
    return await session.scalar(_PUT_BACK, params) is not None


async def dead_counts(session: AsyncSession) -> dict[str, int]:
    rows = (await session.execute(_DEAD_COUNTS)).all()
    return {row.channel: int(row.dead) for row in rows}


async def dead_letters(
    session: AsyncSession, scope: NotificationScope, *, before: str | None, limit: int
) -> list[tuple[Notification, str]]:
    """Notifications in scope parked as dead after their last attempt, newest first (one more
    than ``limit``), each with its event's type."""
    statement = (
        select(Notification, EventRecord.type)
        .join(EventRecord, EventRecord.id == Notification.event_id)
        .where(scope, Notification.status == "dead")
    )
    result = await session.execute(
        keyset_page(statement, Notification.id, after=before, limit=limit)
    )
    return [(row[0], row[1]) for row in result.all()]
