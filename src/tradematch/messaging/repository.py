"""Every SQL statement on conversations, messages and read state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, String, and_, bindparam, cast, func, literal, null, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from tradematch.accounts.models import User
from tradematch.authz.scopes import ConversationScope, MessageScope, conversations_of_bound_party
from tradematch.jobs.models import Job
from tradematch.kit.driver import DriverStatement
from tradematch.kit.repository import keyset_page, locking
from tradematch.leads.models import Lead
from tradematch.messaging.models import Conversation, ConversationRead, Message
from tradematch.vendors.models import VendorProfile


async def get(
    session: AsyncSession, scope: ConversationScope, conversation_id: str, *, lock: bool = False
) -> Conversation | None:
    statement = select(Conversation).where(Conversation.id == conversation_id, scope)
    if lock:
        statement = locking(statement, no_key_update=True)
    return (await session.execute(statement)).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class Sending:
    """A conversation as a message is sent into it (locked), its lead's status, which decides
    whether messaging is enabled, and the sender's name."""

    id: str
    job_id: str
    customer_id: str
    vendor_id: str
    status: str
    lead_status: str
    sender_name: str


# Every message runs these two: compiled once, sent by the driver (kit/driver.py).
_FOR_SENDING = DriverStatement(
    select(
        Conversation.id,
        Conversation.job_id,
        Conversation.customer_id,
        Conversation.vendor_id,
        Conversation.status,
        Lead.status.label("lead_status"),
        User.name.label("sender_name"),
    )
    .join(Lead, Lead.id == Conversation.lead_id)
    .join(User, User.id == bindparam("sender_id", type_=String))
    .where(
        Conversation.id == bindparam("conversation_id", type_=String),
        conversations_of_bound_party("sender_id"),
    )
    .with_for_update(key_share=True, of=Conversation)
)


async def for_sending(
    session: AsyncSession, conversation_id: str, sender_id: str
) -> Sending | None:
    """The conversation, locked, if ``sender_id`` is one of its two parties (the scope), with
    its lead's status and the sender's name, in one statement; None if out of reach."""
    row = await _FOR_SENDING.fetchrow(session, conversation_id=conversation_id, sender_id=sender_id)
    return None if row is None else Sending(*row)


def _open_statement() -> Any:
    opened = (
        insert(Conversation)
        .values(
            id=bindparam("conversation_id", type_=String),
            job_id=bindparam("job_id", type_=String),
            lead_id=bindparam("lead_id", type_=String),
            customer_id=bindparam("customer_id", type_=String),
            vendor_id=bindparam("vendor_id", type_=String),
            status="open",
            message_count=1,
            last_message_at=func.now(),
        )
        .returning(Conversation.id)
        .cte("opened")
    )
    return insert(Message).from_select(
        ["id", "conversation_id", "position", "sender_id", "kind", "body"],
        select(
            bindparam("message_id", type_=String),
            opened.c.id,
            literal(1),
            null(),
            literal("system"),
            bindparam("body", type_=String),
        ),
    )


# Every lead acceptance runs it: compiled once, sent by the driver (kit/driver.py).
_OPEN = DriverStatement(_open_statement())


async def open_with_first_message(
    session: AsyncSession,
    *,
    conversation_id: str,
    job_id: str,
    lead_id: str,
    customer_id: str,
    vendor_id: str,
    message_id: str,
    body: str,
) -> None:
    """Store a new open conversation with its first (system) message, at position 1, in one
    statement."""
    await _OPEN.fetchval(
        session,
        conversation_id=conversation_id,
        job_id=job_id,
        lead_id=lead_id,
        customer_id=customer_id,
        vendor_id=vendor_id,
        message_id=message_id,
        body=body,
    )


def _next_position() -> Any:
    """The conversation's next message position, counted under its row lock (the UPDATE)."""
    return (
        update(Conversation)
        .where(Conversation.id == bindparam("conversation_id", type_=String))
        .values(message_count=Conversation.message_count + 1, last_message_at=func.now())
        .returning(Conversation.message_count)
        .cte("next_position")
    )


def _append_statement() -> Any:
    position = _next_position()
    columns = ["id", "conversation_id", "sender_id", "kind", "body", "quote_id"]
    return (
        insert(Message)
        .from_select(
            [*columns, "attachments", "position"],
            select(
                *(bindparam(column, type_=String) for column in columns),
                cast(bindparam("attachments", type_=String), JSONB),
                position.c.message_count,
            ),
        )
        .returning(Message.position)
    )


_APPEND = DriverStatement(_append_statement())


async def append(session: AsyncSession, conversation_id: str, values: dict[str, Any]) -> int:
    """Store a message as the conversation's next (numbered under the conversation's row lock,
    in the same statement); its position. ``values``: id, sender_id, kind, body, and optionally
    attachments and quote_id."""
    position: int = await _APPEND.fetchval(
        session,
        conversation_id=conversation_id,
        id=values["id"],
        sender_id=values["sender_id"],
        kind=values["kind"],
        body=values["body"],
        quote_id=values.get("quote_id"),
        attachments=json.dumps(values.get("attachments") or []),
    )
    return position


async def append_to(
    session: AsyncSession, conversation: Conversation, values: dict[str, Any]
) -> int:
    """``append`` to a conversation the session holds, which is kept as stored."""
    position = await append(session, conversation.id, values)
    set_committed_value(conversation, "message_count", position)
    return position


async def page(
    session: AsyncSession,
    scope: MessageScope,
    conversation_id: str,
    *,
    limit: int,
    cursor: int | None,
    newest_first: bool,
) -> list[Message]:
    """A page of the conversation's messages by position (one more than ``limit``)."""
    statement = select(Message).where(Message.conversation_id == conversation_id, scope)
    statement = keyset_page(
        statement, Message.position, after=cursor, limit=limit, descending=newest_first
    )
    return list((await session.execute(statement)).scalars())


async def message(session: AsyncSession, scope: MessageScope, message_id: str) -> Message | None:
    result = await session.execute(select(Message).where(Message.id == message_id, scope))
    return result.scalar_one_or_none()


async def mark_read(
    session: AsyncSession, conversation: Conversation, user_id: str, position: int
) -> int:
    statement = insert(ConversationRead).values(
        conversation_id=conversation.id, user_id=user_id, last_read_position=position
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["conversation_id", "user_id"],
        set_={
            "last_read_position": func.greatest(
                ConversationRead.last_read_position, statement.excluded.last_read_position
            ),
            "read_at": func.now(),
        },
    ).returning(ConversationRead.last_read_position)
    return int((await session.execute(upsert)).scalar_one())


async def unread_count(session: AsyncSession, conversation_id: str, user_id: str) -> int:
    read = (
        select(func.coalesce(func.max(ConversationRead.last_read_position), 0))
        .where(
            ConversationRead.conversation_id == conversation_id, ConversationRead.user_id == user_id
        )
        .scalar_subquery()
    )
    result = await session.execute(
        select(func.count()).where(
            Message.conversation_id == conversation_id,
            Message.position > read,
            Message.sender_id.is_distinct_from(user_id),
        )
    )
    return int(result.scalar_one())


async def inbox(
    session: AsyncSession, scope: ConversationScope, user_id: str, *, limit: int
) -> list[Row[Any]]:
    """Conversations with job title, counterpart, last message and unread count (one query)."""
    read = (
        select(ConversationRead.last_read_position)
        .where(
            ConversationRead.conversation_id == Conversation.id, ConversationRead.user_id == user_id
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    unread = (
        select(func.count())
        .where(
            Message.conversation_id == Conversation.id,
            Message.position > func.coalesce(read, 0),
            Message.sender_id.is_distinct_from(user_id),
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    last = Message.__table__.alias("last_message")
    customer = User.__table__.alias("customer")
    statement = (
        select(
            Conversation,
            Job.title.label("job_title"),
            customer.c.name.label("customer_name"),
            VendorProfile.business_name.label("vendor_business_name"),
            Lead.status.label("lead_status"),
            last.c.id.label("last_id"),
            last.c.kind.label("last_kind"),
            last.c.body.label("last_body"),
            last.c.sender_id.label("last_sender_id"),
            last.c.created_at.label("last_created_at"),
            unread.label("unread_count"),
        )
        .join(Job, Job.id == Conversation.job_id)
        .join(Lead, Lead.id == Conversation.lead_id)
        .join(customer, customer.c.id == Conversation.customer_id)
        .join(VendorProfile, VendorProfile.user_id == Conversation.vendor_id)
        .outerjoin(
            last,
            and_(
                last.c.conversation_id == Conversation.id,
                last.c.position == Conversation.message_count,
            ),
        )
        .where(scope)
    )
    statement = statement.order_by(
        Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc()
    ).limit(limit)
    return list((await session.execute(statement)).all())


async def lock_for_leads(session: AsyncSession, lead_ids: list[str]) -> list[str]:
    """Lock the open conversations of these leads; return their ids."""
    if not lead_ids:
        return []
    result = await session.execute(
        update(Conversation)
        .where(Conversation.lead_id.in_(lead_ids), Conversation.status == "open")
        .values(status="locked")
        .returning(Conversation.id)
    )
    return list(result.scalars())


async def for_job_vendor(
    session: AsyncSession, scope: ConversationScope, job_id: str, vendor_id: str
) -> Conversation | None:
    result = await session.execute(
        select(Conversation).where(
            Conversation.job_id == job_id, Conversation.vendor_id == vendor_id, scope
        )
    )
    return result.scalar_one_or_none()


async def archive(session: AsyncSession, conversation_id: str) -> None:
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status == "open")
        .values(status="archived")
    )
