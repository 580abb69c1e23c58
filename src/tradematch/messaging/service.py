"""Messaging: a conversation per accepted lead, messages (immutable), read state."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.scopes import conversations_of, messages_visible_to
from tradematch.core.errors import Forbidden, MessagingDisabled, NotFound, ValidationFailed
from tradematch.events.audience import Audience
from tradematch.events.context import NotificationContext
from tradematch.events.types import EventType
from tradematch.kit.ids import new_id
from tradematch.kit.pagination import page
from tradematch.leads.states import ENGAGED_LEAD_STATES, ensure_in_job
from tradematch.messaging import repository
from tradematch.messaging.models import Conversation, Message
from tradematch.messaging.schemas import (
    ConversationList,
    ConversationSummary,
    LastMessage,
    MarkedRead,
    MarkRead,
    MessagePage,
    MessageSent,
    MessageView,
    SendMessage,
)
from tradematch.uploads import service as uploads
from tradematch.uploads.links import UploadLinks
from tradematch.uploads.schemas import UploadView

LEAD_ACCEPTED_TEXT = "Lead accepted. Messaging enabled."


async def start_conversation(
    session: AsyncSession, *, job_id: str, lead_id: str, customer_id: str, vendor_id: str
) -> str:
    """Open the conversation for an accepted lead, with its first system message; its id."""
    conversation_id = new_id("conv")
    await repository.open_with_first_message(
        session,
        conversation_id=conversation_id,
        job_id=job_id,
        lead_id=lead_id,
        customer_id=customer_id,
        vendor_id=vendor_id,
        message_id=new_id("msg"),
        body=LEAD_ACCEPTED_TEXT,
    )
    return conversation_id


async def post_system_message(
    session: AsyncSession,
    conversation: Conversation,
    body: str,
    *,
    kind: str = "system",
    quote_id: str | None = None,
) -> None:
    await repository.append_to(
        session,
        conversation,
        {"id": new_id("msg"), "sender_id": None, "kind": kind, "body": body, "quote_id": quote_id},
    )


async def post_to_job(
    session: AsyncSession,
    actor: Actor,
    job_id: str,
    vendor_id: str,
    body: str,
    *,
    kind: str = "system",
    quote_id: str | None = None,
) -> None:
    """A system message in the conversation between the job's customer and this vendor, on
    behalf of ``actor`` (one of the two, an admin, or the platform); none if there is no such
    conversation."""
    conversation = await repository.for_job_vendor(
        session, conversations_of(actor), job_id, vendor_id
    )
    if conversation is not None:
        await post_system_message(session, conversation, body, kind=kind, quote_id=quote_id)


async def archive_for_job_vendor(
    session: AsyncSession, actor: Actor, job_id: str, vendor_id: str
) -> Conversation | None:
    """Archive the conversation of a completed job (on behalf of ``actor``); None if there is
    none the actor may reach."""
    conversation = await repository.for_job_vendor(
        session, conversations_of(actor), job_id, vendor_id
    )
    if conversation is not None:
        await repository.archive(session, conversation.id)
    return conversation


async def lock_for_leads(session: AsyncSession, lead_ids: list[str]) -> list[str]:
    return await repository.lock_for_leads(session, lead_ids)


def _view(message: Message, conversation: Conversation, attached: list[UploadView]) -> MessageView:
    if message.sender_id is None:
        role = "system"
    elif message.sender_id == conversation.customer_id:
        role = "customer"
    else:
        role = "vendor"
    return MessageView(
        message_id=message.id,
        conversation_id=message.conversation_id,
        position=message.position,
        type=message.kind,
        sender_id=message.sender_id,
        sender_role=role,
        body=message.body,
        attachments=list(message.attachments or []),
        attachment_uploads=attached,
        quote_id=message.quote_id,
        created_at=message.created_at,
    )


async def read_page(
    session: AsyncSession,
    actor: Actor,
    links: UploadLinks,
    conversation_id: str,
    *,
    limit: int,
    cursor: int | None,
    newest_first: bool,
) -> MessagePage:
    conversation = await repository.get(session, conversations_of(actor), conversation_id)
    if conversation is None:
        raise NotFound("Conversation not found")
    messages = await repository.page(
        session,
        messages_visible_to(actor),
        conversation.id,
        limit=limit,
        cursor=cursor,
        newest_first=newest_first,
    )
    found = page(messages, limit, lambda message: message.position)
    attached = await uploads.views_of(
        session, actor, links, "message", [m.id for m in found.items if m.kind == "attachment"]
    )
    return MessagePage(
        items=[_view(m, conversation, attached.get(m.id, [])) for m in found.items],
        next_cursor=found.next_cursor,
    )


def _participants(conversation: Conversation | repository.Sending) -> Audience:
    """The audience of an event about a conversation: both its participants."""
    return Audience(conversation.job_id, [conversation.customer_id, conversation.vendor_id])


async def send(
    session: AsyncSession, actor: Actor, conversation_id: str, request: SendMessage
) -> MessageSent:
    if actor.is_admin:
        raise Forbidden("Admins do not post in conversations")
    # The scope: the conversation is found only if the sender is one of its two parties.
    conversation = await repository.for_sending(session, conversation_id, actor.user_id)
    if conversation is None:
        raise NotFound("Conversation not found")
    if actor.user_id == conversation.vendor_id:
        ensure_in_job(conversation.lead_status)
    if conversation.status != "open" or conversation.lead_status not in ENGAGED_LEAD_STATES:
        raise MessagingDisabled(conversation_status=conversation.status)
    attachments = [str(url) for url in request.attachments]
    message_id = new_id("msg")
    kind = "attachment" if attachments or request.attachment_upload_ids else "text"
    position = await repository.append(
        session,
        conversation.id,
        {
            "id": message_id,
            "sender_id": actor.user_id,
            "kind": kind,
            "body": request.body,
            "attachments": attachments,
        },
    )
    await uploads.attach(
        session,
        actor,
        request.attachment_upload_ids,
        parent="message",
        parent_id=message_id,
        images_only=False,
    )
    recipient = (
        conversation.vendor_id
        if actor.user_id == conversation.customer_id
        else conversation.customer_id
    )
    preview = (request.body or "Sent an attachment")[:80]
    payload = {
        "conversation_id": conversation.id,
        "message_id": message_id,
        "position": position,
        "type": kind,
        "sender_id": actor.user_id,
        "attachment_upload_ids": request.attachment_upload_ids,
    }
    context = NotificationContext(
        recipient_id=recipient, sender_name=conversation.sender_name, preview=preview
    )
    event_id = _participants(conversation).emit(
        session, EventType.MESSAGE_SENT, actor, payload, context
    )
    return MessageSent(message_id=message_id, conversation_id=conversation.id, event_id=event_id)


async def mark_read(
    session: AsyncSession, actor: Actor, conversation_id: str, request: MarkRead
) -> MarkedRead:
    if actor.is_admin:
        raise Forbidden("Admins are not conversation participants")
    conversation = await repository.get(session, conversations_of(actor), conversation_id)
    if conversation is None:
        raise NotFound("Conversation not found")
    position = conversation.message_count
    if request.up_to_message_id is not None:
        message = await repository.message(
            session, messages_visible_to(actor), request.up_to_message_id
        )
        if message is None or message.conversation_id != conversation.id:
            raise ValidationFailed("up_to_message_id is not a message of this conversation")
        position = message.position
    last_read = await repository.mark_read(session, conversation, actor.user_id, position)
    payload = {
        "conversation_id": conversation.id,
        "reader_id": actor.user_id,
        "last_read_position": last_read,
    }
    event_id = _participants(conversation).emit(session, EventType.MESSAGES_READ, actor, payload)
    return MarkedRead(
        conversation_id=conversation.id,
        last_read_position=last_read,
        unread_count=await repository.unread_count(session, conversation.id, actor.user_id),
        event_id=event_id,
    )


async def inbox(session: AsyncSession, actor: Actor, *, limit: int) -> ConversationList:
    rows = await repository.inbox(session, conversations_of(actor), actor.user_id, limit=limit)
    items = []
    for row in rows:
        conversation: Conversation = row.Conversation
        is_vendor = actor.user_id == conversation.vendor_id
        items.append(
            ConversationSummary(
                conversation_id=conversation.id,
                job_id=conversation.job_id,
                job_title=row.job_title,
                status=conversation.status,
                messaging_enabled=conversation.status == "open"
                and row.lead_status in ENGAGED_LEAD_STATES,
                counterpart_name=row.customer_name if is_vendor else row.vendor_business_name,
                unread_count=int(row.unread_count),
                last_message=(
                    LastMessage(
                        message_id=row.last_id,
                        type=row.last_kind,
                        body=row.last_body,
                        sender_id=row.last_sender_id,
                        created_at=row.last_created_at,
                    )
                    if row.last_id
                    else None
                ),
                last_message_at=conversation.last_message_at,
            )
        )
    return ConversationList(items=items)
