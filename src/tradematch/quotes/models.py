from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, Timestamps, check_in
from tradematch.quotes.states import QUOTE


class MilestonePlanEntry(TypedDict):
    """One milestone of a quote's proposed breakdown (the milestones themselves are made from
    it when the quote wins)."""

    title: str
    amount_pence: int


WHOLE_JOB = "Complete the job"  # the one milestone of a quote sent without a breakdown


class Quote(Timestamps, Base):
    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"))
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendor_profiles.user_id"))
    amount_pence: Mapped[int]
    description: Mapped[str | None] = mapped_column(String(5000))
    estimated_duration: Mapped[str | None] = mapped_column(String(120))
    milestone_plan: Mapped[list[MilestonePlanEntry]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    decided_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(check_in("status", QUOTE.states), name="status"),
        CheckConstraint("amount_pence > 0 AND amount_pence <= 100000000", name="amount"),
        # At most one accepted quote per job, and one pending quote per vendor per job.
        Index(
            "uq_quotes_job_id_accepted",
            "job_id",
            unique=True,
            postgresql_where=text("status = 'accepted'"),
        ),
        Index(
            "uq_quotes_job_id_vendor_id_pending",
            "job_id",
            "vendor_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_quotes_job_id_created_at", "job_id", "created_at"),
        Index("ix_quotes_vendor_id_created_at", "vendor_id", text("created_at DESC")),
        Index("ix_quotes_lead_id", "lead_id"),
    )
