from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, Timestamps, check_in
from tradematch.milestones.states import MILESTONE, WITH_EVIDENCE


class Milestone(Timestamps, Base):
    __tablename__ = "milestones"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    escrow_id: Mapped[str] = mapped_column(ForeignKey("escrow_accounts.id"))
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    amount_pence: Mapped[int]
    status: Mapped[str] = mapped_column(String(24), server_default="pending")
    # {"photos": [https urls], "description": str}; fixed once submitted (new evidence on resubmit).
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    changes_reason: Mapped[str | None] = mapped_column(String(5000))
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    # When the customer's review window (auto-approval) started: the submission, or the moment
    # a dispute that froze the job was resumed (docs/decisions.md).
    review_started_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("job_id", "position", name="uq_milestones_job_id_position"),
        CheckConstraint(check_in("status", MILESTONE.states), name="status"),
        CheckConstraint("amount_pence > 0", name="amount"),
        CheckConstraint("position > 0", name="position"),
        CheckConstraint(
            f"evidence IS NOT NULL OR NOT {check_in('status', WITH_EVIDENCE)}", name="evidence"
        ),
        Index(
            "ix_milestones_review_started_at",
            "review_started_at",
            postgresql_where=text("status = 'submitted'"),
        ),
        Index("ix_milestones_escrow_id", "escrow_id"),
    )
