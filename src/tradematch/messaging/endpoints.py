from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, status

from tradematch.api.deps import ActorDep, SessionDep
from tradematch.api.idempotency import Idempotent
from tradematch.api.routing import TransactionalRoute
from tradematch.kit.ids import ConversationId
from tradematch.kit.pagination import PageLimit
from tradematch.messaging import service
from tradematch.messaging.schemas import (
    ConversationList,
    MarkedRead,
    MarkRead,
    MessagePage,
    MessageSent,
    SendMessage,
)
from tradematch.uploads.deps import UploadLinksDep

router = APIRouter(tags=["messaging"], route_class=TransactionalRoute)


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(
    actor: ActorDep, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> ConversationList:
    """My conversations, most recent activity first, with unread counts and the last message."""
    return await service.inbox(session, actor, limit=limit)


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
async def get_messages(
    conversation_id: ConversationId,
    actor: ActorDep,
    session: SessionDep,
    links: UploadLinksDep,
    order: Annotated[Literal["newest_first", "oldest_first"], Query()] = "newest_first",
    cursor: Annotated[
        int | None, Query(ge=0, le=2_147_483_647, description="`next_cursor` of the previous page.")
    ] = None,
    limit: PageLimit = 50,
) -> MessagePage:
    """A page of messages. `newest_first` (default) walks back in time; `oldest_first` forward."""
    return await service.read_page(
        session,
        actor,
        links,
        conversation_id,
        limit=limit,
        cursor=cursor,
        newest_first=order == "newest_first",
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageSent,
    dependencies=[Idempotent],
)
async def send_message(
    conversation_id: ConversationId, body: SendMessage, actor: ActorDep, session: SessionDep
) -> MessageSent:
    """Send text, https attachments or uploads (`attachment_upload_ids`, your own unattached
    uploads; at most 10 attachments in all). 403 MESSAGING_DISABLED unless the conversation is
    open."""
    return await service.send(session, actor, conversation_id, body)


@router.patch(
    "/conversations/{conversation_id}/mark-read",
    response_model=MarkedRead,
    dependencies=[Idempotent],
)
async def mark_read(
    conversation_id: ConversationId,
    actor: ActorDep,
    session: SessionDep,
    body: Annotated[MarkRead, Body(default_factory=MarkRead)],
) -> MarkedRead:
    """Mark the conversation read up to a message (default: all of it)."""
    return await service.mark_read(session, actor, conversation_id, body)
