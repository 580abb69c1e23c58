from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from tradematch.api.deps import ActorDep, EmptyBody, SessionDep, SettingsDep
from tradematch.api.idempotency import Idempotent, NaturallyIdempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.kit.ids import NotificationId
from tradematch.kit.pagination import PageLimit
from tradematch.notifications import service, unsubscribe
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

UnsubscribeToken = Annotated[
    str,
    Query(
        min_length=1,
        max_length=unsubscribe.TOKEN_MAX,
        description="The signed token of the email's `List-Unsubscribe` link.",
    ),
]
PAGE_HEADERS = {"Cache-Control": "no-store"}
# The page is HTML; its errors are the API's JSON ones (``response_class=Response`` keeps them
# documented as application/json).
HTML_PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A small HTML page.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}


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
    limit: PageLimit = 50,
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
    body: PushSubscriptionCreate, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> PushSubscriptionView:
    """Register this browser's web push subscription (an https endpoint and its keys). An
    endpoint whose host is not on the public internet is refused (422). At most 10 are kept
    per user: registering another drops the oldest. A push service that answers 404 or 410 for
    one later removes it."""
    return await service.register_push_subscription(session, actor, body, settings)


@router.get(
    "/notifications/unsubscribe",
    response_class=Response,
    responses=HTML_PAGE,
)
async def unsubscribe_page(
    token: UnsubscribeToken, request: Request, session: SessionDep
) -> HTMLResponse:
    """The page an email's unsubscribe link opens (no sign-in): it changes nothing (mail
    scanners follow links) and offers a button that sends the `POST`. An unknown or altered
    token is a 404."""
    state = request.app.state
    page = await unsubscribe.confirmation(
        session, state.signing_key, token, public_url=state.settings.public_url
    )
    return HTMLResponse(page, headers=PAGE_HEADERS)


@router.post(
    "/notifications/unsubscribe",
    response_class=Response,
    responses=HTML_PAGE,
    dependencies=[NaturallyIdempotent],
)
async def unsubscribe_one_click(
    token: UnsubscribeToken, request: Request, session: SessionDep
) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058; no sign-in): turns the email's category of
    notifications off for email. Mail providers send the body `List-Unsubscribe=One-Click`;
    the body is not needed (the signed token is the authority). Doing it again changes nothing.
    An unknown or altered token is a 404."""
    state = request.app.state
    page = await unsubscribe.unsubscribe(
        session, state.signing_key, token, public_url=state.settings.public_url
    )
    return HTMLResponse(page, headers=PAGE_HEADERS)
