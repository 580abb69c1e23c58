from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, CreatedAt, Timestamps, check_in
from tradematch.notifications.states import CATEGORIES, CHANNELS, NOTIFICATION_STATES


class Notification(CreatedAt, Base):
    """The transactional outbox: one row per (event, recipient, channel)."""

    __tablename__ = "notifications"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("event_log.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    leased_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint(
            "event_id", "user_id", "channel", name="uq_notifications_event_user_channel"
        ),
        CheckConstraint(check_in("channel", CHANNELS), name="channel"),
        CheckConstraint(check_in("status", NOTIFICATION_STATES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index(
            "ix_notifications_due", "next_attempt_at", postgresql_where=text("status = 'pending'")
        ),
        # The in-app inbox, newest first (ids sort by time), and its unread count.
        Index(
            "ix_notifications_inbox",
            "user_id",
            text("id DESC"),
            postgresql_where=text("channel = 'in_app'"),
        ),
        Index(
            "ix_notifications_unread",
            "user_id",
            postgresql_where=text("channel = 'in_app' AND read_at IS NULL"),
        ),
        Index("ix_notifications_dead", "channel", postgresql_where=text("status = 'dead'")),
    )


class NotificationPreference(Timestamps, Base):
    __tablename__ = "notification_preferences"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool]
    __table_args__ = (CheckConstraint(check_in("channel", CHANNELS), name="channel"),)


class NotificationCategoryPreference(Timestamps, Base):
    """One category of notifications turned on or off on one channel (no row: on, unless the
    channel itself is off in ``notification_preferences``)."""

    __tablename__ = "notification_category_preferences"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool]
    __table_args__ = (
        CheckConstraint(check_in("category", CATEGORIES), name="category"),
        CheckConstraint(check_in("channel", CHANNELS), name="channel"),
    )


class PushSubscription(CreatedAt, Base):
    __tablename__ = "push_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(255))
    auth: Mapped[str] = mapped_column(String(255))
    __table_args__ = (Index("ix_push_subscriptions_user_id", "user_id"),)


class NotificationInput(CreatedAt, Base):
    """What an event's notification texts were made from (its ``context``), kept so that
    ``tradematch events replay`` can apply the rules again. Not part of the immutable log."""

    __tablename__ = "notification_inputs"
    event_id: Mapped[str] = mapped_column(
        ForeignKey("event_log.id", ondelete="CASCADE"), primary_key=True
    )
    context: Mapped[dict[str, Any]] = mapped_column(JSONB)
