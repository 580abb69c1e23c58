"""Notification delivery: the inputs of each event's notification texts (for replay), and
indexes for the in-app inbox, its unread count and the dead-letter count.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_inputs",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("context", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event_log.id"],
            name=op.f("fk_notification_inputs_event_id_event_log"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_notification_inputs")),
    )
    op.drop_index("ix_notifications_user_id_channel_created_at", table_name="notifications")
    op.create_index(
        "ix_notifications_inbox",
        "notifications",
        ["user_id", sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("channel = 'in_app'"),
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("channel = 'in_app' AND read_at IS NULL"),
    )
    op.create_index(
        "ix_notifications_dead",
        "notifications",
        ["channel"],
        unique=False,
        postgresql_where=sa.text("status = 'dead'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_dead", table_name="notifications")
    op.drop_index("ix_notifications_unread", table_name="notifications")
    op.drop_index("ix_notifications_inbox", table_name="notifications")
    op.create_index(
        "ix_notifications_user_id_channel_created_at",
        "notifications",
        ["user_id", "channel", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.drop_table("notification_inputs")
