"""Money: every ending leaves escrow and milestones terminal; the review window restarts after a
dispute; payouts.

- escrow_accounts.status gains 'settled' (a ruling paid the vendor part and refunded the rest)
  and 'cancelled' (the job ended before the escrow was funded);
- milestones.status gains 'settled' and 'cancelled' (a ruling ended the job before they were
  paid); the evidence check follows (a milestone set aside before submission has none);
- milestones.review_started_at: when the customer's auto-approval window started (submission,
  or the resumption of a dispute that froze it), indexed for the scheduler in place of
  submitted_at;
- ledger_transactions.kind gains 'payout'; the payouts table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ESCROW = "'pending', 'held', 'partial_released', 'released', 'disputed', 'refunded'"
NEW_ESCROW = f"{OLD_ESCROW}, 'settled', 'cancelled'"
OLD_MILESTONE = "'pending', 'submitted', 'changes_requested', 'approved', 'released'"
NEW_MILESTONE = f"{OLD_MILESTONE}, 'settled', 'cancelled'"
WITH_EVIDENCE = "'submitted', 'changes_requested', 'approved', 'released'"
OLD_KINDS = (
    "'top_up', 'escrow_fund', 'milestone_release', 'dispute_release', 'dispute_refund',"
    " 'withdrawal'"
)
NEW_KINDS = f"{OLD_KINDS}, 'payout'"


def _replace_check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)


def upgrade() -> None:
    _replace_check("escrow_accounts", "status", f"status IN ({NEW_ESCROW})")
    _replace_check("milestones", "status", f"status IN ({NEW_MILESTONE})")
    _replace_check(
        "milestones", "evidence", f"evidence IS NOT NULL OR NOT status IN ({WITH_EVIDENCE})"
    )
    _replace_check("ledger_transactions", "kind", f"kind IN ({NEW_KINDS})")

    op.add_column(
        "milestones", sa.Column("review_started_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE milestones SET review_started_at = submitted_at")
    op.drop_index("ix_milestones_submitted_at", table_name="milestones")
    op.create_index(
        "ix_milestones_review_started_at",
        "milestones",
        ["review_started_at"],
        unique=False,
        postgresql_where=sa.text("status = 'submitted'"),
    )

    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("wallet_kind", sa.String(length=24), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="requested", nullable=False),
        sa.Column("provider", sa.String(length=24), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'sent', 'failed')", name=op.f("ck_payouts_status")
        ),
        sa.CheckConstraint(
            "wallet_kind IN ('customer_wallet', 'vendor_wallet')",
            name=op.f("ck_payouts_wallet_kind"),
        ),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_payouts_amount")),
        sa.CheckConstraint(
            "(status = 'sent') = (sent_at IS NOT NULL)", name=op.f("ck_payouts_sent")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payouts_user_id_users")),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_payouts_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
    )
    op.create_index("ix_payouts_user_id_created_at", "payouts", ["user_id", "created_at"])
    op.create_index("ix_payouts_created_at", "payouts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_payouts_created_at", table_name="payouts")
    op.drop_index("ix_payouts_user_id_created_at", table_name="payouts")
    op.drop_table("payouts")
    op.drop_index("ix_milestones_review_started_at", table_name="milestones")
    op.create_index(
        "ix_milestones_submitted_at",
        "milestones",
        ["submitted_at"],
        unique=False,
        postgresql_where=sa.text("status = 'submitted'"),
    )
    op.drop_column("milestones", "review_started_at")
    _replace_check("ledger_transactions", "kind", f"kind IN ({OLD_KINDS})")
    _replace_check("milestones", "evidence", "status = 'pending' OR evidence IS NOT NULL")
    _replace_check("milestones", "status", f"status IN ({OLD_MILESTONE})")
    _replace_check("escrow_accounts", "status", f"status IN ({OLD_ESCROW})")
