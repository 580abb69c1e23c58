from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from tradematch.api.deps import ActorDep, EmptyBody, SessionDep, SettingsDep
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.notifications import service
from tradematch.notifications.schemas import (
    NOTIFICATION_ID_PATTERN,
    NotificationPage,
    NotificationRead,
    PreferencesChange,
    PreferencesView,
    PushSubscriptionCreate,
    PushSubscriptionView,
)

router = APIRouter(tags=["notifications"], route_class=TransactionalRoute)

NotificationId = Annotated[str, Path(pattern=NOTIFICATION_ID_PATTERN, max_length=40)]


@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    actor: ActorDep,
    session: SessionDep,
    cursor: Annotated[
        str | None,
        Query(
            pattern=NOTIFICATION_ID_PATTERN,
            max_length=40,
            description="`next_cursor` of the previous page.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    unread_only: bool = False,
) -> NotificationPage:
    """My in-app notifications, newest first, with my unread count."""
    return await service.inbox(session, actor, cursor=cursor, limit=limit, unread_only=unread_only)


@router.get("/notifications/preferences", response_model=PreferencesView)
async def get_preferences(
    actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> PreferencesView:
    """Which channels notify me (all are on until turned off), and the key to subscribe to push
    with."""
    return await service.preferences(session, actor, settings)


@router.put("/notifications/preferences", response_model=PreferencesView, dependencies=[Idempotent])
async def put_preferences(
    body: PreferencesChange, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> PreferencesView:
    """Turn channels on or off (channels left out keep their setting). Applies to
    notifications queued from now on."""
    return await service.change_preferences(session, actor, settings, body)


@router.patch(
    "/notifications/{notification_id}/read",
    response_model=NotificationRead,
    dependencies=[Idempotent],
)
async def mark_notification_read(
    notification_id: NotificationId,
    actor: ActorDep,
    session: SessionDep,
    body: EmptyBody,
) -> NotificationRead:
    """Mark one of my in-app notifications read (marking it again keeps the first time)."""
    return await service.mark_read(session, actor, notification_id)


@router.post(
    "/notifications/push-subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=PushSubscriptionView,
    dependencies=[Idempotent],
)
async def register_push_subscription(
    body: PushSubscriptionCreate, actor: ActorDep, session: SessionDep
) -> PushSubscriptionView:
    """Register this browser's web push subscription (an https endpoint and its keys). A push
    service that answers 404 or 410 for it later removes it."""
    return await service.register_push_subscription(session, actor, body)
