"""Every SQL statement of the notifications domain (the dispatcher's are in worker/outbox.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.accounts.models import User
from tradematch.events.models import EventRecord
from tradematch.notifications.models import (
    Notification,
    NotificationInput,
    NotificationPreference,
    PushSubscription,
)
from tradematch.notifications.states import CHANNELS

_ROWS_PER_STATEMENT = 2000  # asyncpg allows 32,767 parameters per statement
MAX_PUSH_SUBSCRIPTIONS = 10  # per user; registering another drops the oldest


async def channels_on(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, set[str]]:
    """For each active user among ``user_ids``, the channels notifications may use now: those
    not turned off, and push only with a subscription. Unknown ids are simply absent."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    off = func.array_agg(NotificationPreference.channel).filter(
        NotificationPreference.enabled.is_(False)
    )
    users = (
        await session.execute(
            select(
                User.id,
                exists()
                .where(PushSubscription.user_id == User.id)
                .correlate(User)
                .label("has_push"),
                off.label("off"),
            )
            .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
            .where(User.id.in_(ids), User.is_active)
            .group_by(User.id)
        )
    ).all()
    return {
        row.id: {
            channel
            for channel in CHANNELS
            if channel not in (row.off or ()) and (channel != "push" or row.has_push)
        }
        for row in users
    }


async def keep_inputs(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        await session.execute(
            insert(NotificationInput)
            .values(rows[start : start + _ROWS_PER_STATEMENT])
            .on_conflict_do_nothing(index_elements=["event_id"])
        )


async def queue(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows; (event, recipient, channel) is unique, so re-queueing is harmless.
    Returns how many rows were new."""
    inserted = 0
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        statement = (
            insert(Notification)
            .values(rows[start : start + _ROWS_PER_STATEMENT])
            .on_conflict_do_nothing(constraint="uq_notifications_event_user_channel")
            .returning(Notification.id)
        )
        inserted += len((await session.execute(statement)).all())
    return inserted


# The in-app inbox ----------------------------------------------------------------------------


def _in_app_of(user_id: str) -> Any:
    return and_(Notification.user_id == user_id, Notification.channel == "in_app")


async def inbox(
    session: AsyncSession, user_id: str, *, before: str | None, limit: int, unread_only: bool
) -> list[Any]:
    """A page of the user's in-app notifications, newest first (ids sort by time)."""
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
        .where(_in_app_of(user_id))
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(Notification.id < before)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return list((await session.execute(statement)).all())


async def unread_count(session: AsyncSession, user_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(_in_app_of(user_id), Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, user_id: str, notification_id: str, now: datetime
) -> datetime | None:
    """Mark one of the user's in-app notifications read (the first reading time is kept);
    None if the user has no such notification."""
    read_at = await session.scalar(
        update(Notification)
        .where(_in_app_of(user_id), Notification.id == notification_id)
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


async def events_for_replay(
    session: AsyncSession, *, after: int, until: int | None, limit: int
) -> list[Any]:
    """Events with ``after < seq <= until`` in sequence order, with their notification inputs."""
    statement = (
        select(
            EventRecord.seq,
            EventRecord.id,
            EventRecord.type,
            EventRecord.actor_id,
            NotificationInput.context,
        )
        .outerjoin(NotificationInput, NotificationInput.event_id == EventRecord.id)
        .where(EventRecord.seq > after)
        .order_by(EventRecord.seq)
        .limit(limit)
    )
    if until is not None:
        statement = statement.where(EventRecord.seq <= until)
    return list((await session.execute(statement)).all())


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


async def dead_letters(
    session: AsyncSession, *, limit: int, before: str | None
) -> list[tuple[Notification, str]]:
    """Notifications parked as dead after their last attempt, newest first, each with its
    event's type."""
    statement = (
        select(Notification, EventRecord.type)
        .join(EventRecord, EventRecord.id == Notification.event_id)
        .where(Notification.status == "dead")
    )
    if before is not None:
        statement = statement.where(Notification.id < before)
    result = await session.execute(statement.order_by(Notification.id.desc()).limit(limit))
    return [(row[0], row[1]) for row in result.all()]
