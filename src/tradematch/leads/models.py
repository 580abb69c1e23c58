from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, Timestamps, check_in
from tradematch.leads.states import LEAD


class Lead(Timestamps, Base):
    __tablename__ = "leads"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendor_profiles.user_id"))
    status: Mapped[str] = mapped_column(String(16), server_default="offered")
    price_pence: Mapped[int]
    distance_miles: Mapped[float] = mapped_column(Float)
    offered_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(500))
    closed_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("job_id", "vendor_id", name="uq_leads_job_id_vendor_id"),
        CheckConstraint(check_in("status", LEAD.states), name="status"),
        CheckConstraint("price_pence >= 0", name="price_nonnegative"),
        CheckConstraint("distance_miles >= 0", name="distance_nonnegative"),
        CheckConstraint(
            "accepted_at IS NOT NULL OR status IN ('offered', 'declined', 'expired', 'closed')",
            name="accepted_at",
        ),
        Index("ix_leads_vendor_id_offered_at", "vendor_id", text("offered_at DESC")),
        Index("ix_leads_job_id_status", "job_id", "status"),
        Index(
            "ix_leads_offered_expires_at", "expires_at", postgresql_where=text("status = 'offered'")
        ),
    )
