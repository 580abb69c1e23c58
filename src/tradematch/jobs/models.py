from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, Timestamps, check_in
from tradematch.jobs.states import JOB
from tradematch.kit.catalogue import TIMEFRAMES, TRADES


class Job(Timestamps, Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(String(5000))
    trade_category: Mapped[str] = mapped_column(String(32))
    budget_min_pence: Mapped[int]
    budget_max_pence: Mapped[int]
    timeframe: Mapped[str] = mapped_column(String(16))
    postcode: Mapped[str] = mapped_column(String(8))
    outcode: Mapped[str] = mapped_column(ForeignKey("outcodes.outcode"))
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    awarded_vendor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None]
    awarded_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(check_in("status", JOB.states), name="status"),
        CheckConstraint(check_in("trade_category", TRADES), name="trade_category"),
        CheckConstraint(check_in("timeframe", TIMEFRAMES), name="timeframe"),
        CheckConstraint(
            "budget_min_pence > 0 AND budget_max_pence <= 100000000"
            " AND budget_min_pence <= budget_max_pence",
            name="budget",
        ),
        CheckConstraint(
            "(status = 'draft') = (published_at IS NULL) OR status = 'cancelled'",
            name="published_at",
        ),
        CheckConstraint(
            "awarded_vendor_id IS NOT NULL OR status IN ('draft', 'live', 'cancelled', 'expired')",
            name="awarded_vendor",
        ),
        Index("ix_jobs_customer_id_created_at", "customer_id", text("created_at DESC")),
        Index(
            "ix_jobs_live_published_at", "published_at", postgresql_where=text("status = 'live'")
        ),
        Index(
            "ix_jobs_completed_at", "completed_at", postgresql_where=text("status = 'completed'")
        ),
    )
