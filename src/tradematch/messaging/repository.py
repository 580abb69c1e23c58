"""Every SQL statement on conversations, messages and read state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from tradematch.accounts.models import User
from tradematch.authz.scopes import ConversationScope, MessageScope
from tradematch.jobs.models import Job
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


async def for_sending(
    session: AsyncSession, scope: ConversationScope, conversation_id: str, sender_id: str
) -> tuple[Conversation, str, str] | None:
    """The conversation in ``scope``, locked, with its lead's status (which decides whether
    messaging is enabled) and the sender's name, in one statement; None if out of reach."""
    statement = (
        select(Conversation, Lead.status, User.name)
        .join(Lead, Lead.id == Conversation.lead_id)
        .join(User, User.id == sender_id)
        .where(Conversation.id == conversation_id, scope)
        .with_for_update(key_share=True, of=Conversation)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1], row[2])


async def add_with_first_message(
    session: AsyncSession, conversation: Conversation, values: dict[str, Any]
) -> Message:
    """Store a new conversation with its first message (position 1), in one flush."""
    conversation.message_count = 1
    conversation.last_message_at = func.now()
    message = Message(conversation_id=conversation.id, position=1, **values)
    session.add_all([conversation, message])
    await session.flush()
    return message


# Runs for every message: built once (see accounts.repository).
_NEXT_POSITION = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation_id"))
    .values(message_count=Conversation.message_count + 1, last_message_at=func.now())
    .returning(Conversation.message_count)
    # ``append`` sets the caller's object itself: no ORM synchronisation (a SELECT more).
    .execution_options(synchronize_session=False)
)


async def append(
    session: AsyncSession, conversation: Conversation, values: dict[str, Any]
) -> Message:
    """Number the message within its conversation (the row is locked by the UPDATE) and store it."""
    next_position = {"conversation_id": conversation.id}
    position: int = (await session.execute(_NEXT_POSITION, next_position)).scalar_one()
    set_committed_value(conversation, "message_count", position)  # as stored: nothing to flush
    message = Message(conversation_id=conversation.id, position=position, **values)
    session.add(message)
    await session.flush()
    return message


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
