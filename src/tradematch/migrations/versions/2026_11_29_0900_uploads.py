"""Uploads: photos and PDFs, attachable to a job, a message or a milestone's evidence.

A message may now carry uploads alone (no body, no https attachment): its content check also
accepts kind 'attachment'.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ATTACHED = "num_nonnulls(job_id, message_id, milestone_id)"


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("uploader_id", sa.String(length=40), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True),
        sa.Column("thumbnail_content_type", sa.String(length=32), nullable=True),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("milestone_id", sa.String(length=40), nullable=True),
        sa.Column("position", sa.SmallInteger(), nullable=True),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')",
            name=op.f("ck_uploads_content_type"),
        ),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_uploads_size")),
        sa.CheckConstraint(f"{ATTACHED} <= 1", name=op.f("ck_uploads_one_parent")),
        sa.CheckConstraint(
            f"({ATTACHED} = 1) = (attached_at IS NOT NULL AND position IS NOT NULL)",
            name=op.f("ck_uploads_attachment"),
        ),
        sa.CheckConstraint(
            "(content_type = 'application/pdf') = (width IS NULL)"
            " AND (width IS NULL) = (height IS NULL)"
            " AND (width IS NULL) = (thumbnail_sha256 IS NULL)"
            " AND (thumbnail_sha256 IS NULL) = (thumbnail_content_type IS NULL)",
            name=op.f("ck_uploads_image_facts"),
        ),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.id"], name=op.f("fk_uploads_uploader_id_users")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_uploads_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_uploads_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"], ["milestones.id"], name=op.f("fk_uploads_milestone_id_milestones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    op.create_index(
        "ix_uploads_uploader_id_created_at", "uploads", ["uploader_id", "created_at"], unique=False
    )
    op.create_index("ix_uploads_sha256", "uploads", ["sha256"], unique=False)
    op.create_index("ix_uploads_thumbnail_sha256", "uploads", ["thumbnail_sha256"], unique=False)
    op.create_index(
        "ix_uploads_job_id",
        "uploads",
        ["job_id"],
        unique=False,
        postgresql_where=sa.text("job_id IS NOT NULL"),
    )
    op.create_index(
        "ix_uploads_message_id",
        "uploads",
        ["message_id"],
        unique=False,
        postgresql_where=sa.text("message_id IS NOT NULL"),
    )
    op.create_index(
        "ix_uploads_milestone_id",
        "uploads",
        ["milestone_id"],
        unique=False,
        postgresql_where=sa.text("milestone_id IS NOT NULL"),
    )
    op.drop_constraint(op.f("ck_messages_content"), "messages", type_="check")
    op.create_check_constraint(
        op.f("ck_messages_content"),
        "messages",
        "body IS NOT NULL OR jsonb_array_length(attachments) > 0 OR kind = 'attachment'",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_messages_content"), "messages", type_="check")
    op.create_check_constraint(
        op.f("ck_messages_content"),
        "messages",
        "body IS NOT NULL OR jsonb_array_length(attachments) > 0",
    )
    op.drop_table("uploads")
