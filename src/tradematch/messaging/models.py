from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, CreatedAt, Timestamps, check_in
from tradematch.messaging.states import CONVERSATION, MESSAGE_KINDS


class Conversation(Timestamps, Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    vendor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    # Messages are numbered 1, 2, 3 … within a conversation, under the conversation's row lock.
    message_count: Mapped[int] = mapped_column(server_default="0")
    last_message_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("job_id", "vendor_id", name="uq_conversations_job_id_vendor_id"),
        CheckConstraint(check_in("status", CONVERSATION.states), name="status"),
        CheckConstraint("message_count >= 0", name="message_count"),
        Index(
            "ix_conversations_customer_id_last_message_at",
            "customer_id",
            text("last_message_at DESC"),
        ),
        Index(
            "ix_conversations_vendor_id_last_message_at", "vendor_id", text("last_message_at DESC")
        ),
    )


class Message(CreatedAt, Base):
    """Immutable: a trigger rejects UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    position: Mapped[int]
    sender_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str | None] = mapped_column(String(5000))
    attachments: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    quote_id: Mapped[str | None] = mapped_column(ForeignKey("quotes.id"))
    __table_args__ = (
        UniqueConstraint(
            "conversation_id", "position", name="uq_messages_conversation_id_position"
        ),
        CheckConstraint(check_in("kind", MESSAGE_KINDS), name="kind"),
        CheckConstraint("position > 0", name="position"),
        CheckConstraint(
            "(kind = 'system') = (sender_id IS NULL) OR kind = 'quote_reference'", name="sender"
        ),
        CheckConstraint(
            "body IS NOT NULL OR jsonb_array_length(attachments) > 0 OR kind = 'attachment'",
            name="content",
        ),
    )


class ConversationRead(Base):
    """Read state per participant, kept apart from the immutable messages."""

    __tablename__ = "conversation_reads"
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    last_read_position: Mapped[int] = mapped_column(server_default="0")
    read_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    __table_args__ = (CheckConstraint("last_read_position >= 0", name="position"),)
