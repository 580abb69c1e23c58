"""Denial counts per actor and hour (contract §6: the count of 404s by actor, for admins).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "denial_counts",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN (401, 403, 404)", name=op.f("ck_denial_counts_status")),
        sa.CheckConstraint("count > 0", name=op.f("ck_denial_counts_count_positive")),
        sa.PrimaryKeyConstraint("hour", "actor_id", "status", name=op.f("pk_denial_counts")),
    )


def downgrade() -> None:
    op.drop_table("denial_counts")
