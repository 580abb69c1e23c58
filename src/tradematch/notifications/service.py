"""The user's side of notifications: the in-app inbox, channel preferences, push subscriptions;
and the admins' list of notifications that could not be delivered.

The user's side reads and writes only the acting user's own rows: another user's notification
is not found (404), exactly like one that does not exist.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.authz.scopes import every_notification_for, notifications_of
from tradematch.core.config import Settings
from tradematch.core.errors import NotFound, ValidationFailed
from tradematch.kit import clock
from tradematch.kit.network import PrivateAddress, refuse_private_host
from tradematch.kit.pagination import page
from tradematch.notifications import repository, vapid
from tradematch.notifications.schemas import (
    DeadLetter,
    DeadLetterPage,
    NotificationPage,
    NotificationRead,
    NotificationView,
    PreferencesChange,
    PreferencesView,
    PushSubscriptionCreate,
    PushSubscriptionView,
)


async def inbox(
    session: AsyncSession, actor: Actor, *, cursor: str | None, limit: int, unread_only: bool
) -> NotificationPage:
    mine = notifications_of(actor)
    rows = await repository.inbox(
        session, mine, before=cursor, limit=limit, unread_only=unread_only
    )
    found = page(rows, limit, lambda row: row.id)
    items = [
        NotificationView(
            notification_id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            job_id=row.job_id,
            title=row.title,
            body=row.body,
            read=row.read_at is not None,
            read_at=row.read_at,
            created_at=row.created_at,
        )
        for row in found.items
    ]
    return NotificationPage(
        items=items,
        unread_count=await repository.unread_count(session, mine),
        next_cursor=found.next_cursor,
    )


async def mark_read(session: AsyncSession, actor: Actor, notification_id: str) -> NotificationRead:
    mine = notifications_of(actor)
    read_at = await repository.mark_read(session, mine, notification_id, clock.now())
    if read_at is None:
        raise NotFound("Notification not found")
    return NotificationRead(
        notification_id=notification_id,
        read_at=read_at,
        unread_count=await repository.unread_count(session, mine),
    )


async def preferences(session: AsyncSession, actor: Actor, settings: Settings) -> PreferencesView:
    return PreferencesView(
        **await repository.preferences(session, actor.user_id),
        email_categories=await repository.category_preferences(session, actor.user_id, "email"),
        push_subscriptions=await repository.push_subscription_count(session, actor.user_id),
        push_public_key=vapid.public_key(settings),
    )


async def change_preferences(
    session: AsyncSession, actor: Actor, settings: Settings, change: PreferencesChange
) -> PreferencesView:
    changes = change.model_dump(exclude_none=True, exclude={"email_categories"})
    await repository.set_preferences(session, actor.user_id, changes)
    if change.email_categories:
        await repository.set_category_preferences(
            session,
            actor.user_id,
            "email",
            {str(c): on for c, on in change.email_categories.items()},
        )
    return await preferences(session, actor, settings)


# How long registering a push subscription waits for its host to resolve.
ENDPOINT_RESOLVE_SECONDS = 3.0


async def register_push_subscription(
    session: AsyncSession, actor: Actor, request: PushSubscriptionCreate, settings: Settings
) -> PushSubscriptionView:
    """Register the browser's subscription (at most ``MAX_PUSH_SUBSCRIPTIONS`` per user: the
    oldest gives way). An endpoint on a host that is, or resolves to, anything but a public
    address is refused (422): the server would otherwise post to its own network on the user's
    behalf. The dispatcher checks the address again on every connection (DNS changes)."""
    if not settings.push_allow_private_networks:
        host = request.endpoint.host or ""
        try:
            await refuse_private_host(
                host, request.endpoint.port or 443, resolve_seconds=ENDPOINT_RESOLVE_SECONDS
            )
        except PrivateAddress:
            raise ValidationFailed(
                "The push endpoint must be on a public internet address",
                field="endpoint",
            ) from None
    saved = await repository.save_push_subscription(
        session,
        actor.user_id,
        endpoint=str(request.endpoint),
        p256dh=request.keys.p256dh,
        auth=request.keys.auth,
    )
    return PushSubscriptionView(
        subscription_id=saved.id, endpoint=saved.endpoint, created_at=saved.created_at
    )


async def dead_letters(
    session: AsyncSession, actor: Actor, *, cursor: str | None, limit: int
) -> DeadLetterPage:
    """Notifications that failed every attempt and were parked, newest first (admins)."""
    require(actor, Role.ADMIN)
    rows = await repository.dead_letters(
        session, every_notification_for(actor), before=cursor, limit=limit
    )
    found = page(rows, limit, lambda row: row[0].id)
    return DeadLetterPage(
        items=[
            DeadLetter(
                notification_id=n.id,
                event_id=n.event_id,
                event_type=event_type,
                user_id=n.user_id,
                channel=n.channel,
                title=n.title,
                attempts=n.attempts,
                last_error=n.last_error,
                created_at=n.created_at,
            )
            for n, event_type in found.items
        ],
        next_cursor=found.next_cursor,
    )
