from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, Timestamps, check_in
from tradematch.disputes.states import DISPUTE, RESOLUTIONS


class Dispute(Timestamps, Base):
    __tablename__ = "disputes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    raised_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(5000))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    resolution: Mapped[str | None] = mapped_column(String(24))
    vendor_share_pence: Mapped[int | None] = mapped_column(BigInteger)
    resolution_note: Mapped[str | None] = mapped_column(String(5000))
    resolved_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(check_in("status", DISPUTE.states), name="status"),
        CheckConstraint(
            f"resolution IS NULL OR {check_in('resolution', RESOLUTIONS)}", name="resolution"
        ),
        CheckConstraint("(status = 'resolved') = (resolution IS NOT NULL)", name="resolved"),
        CheckConstraint(
            "vendor_share_pence IS NULL OR vendor_share_pence >= 0", name="vendor_share"
        ),
        Index(
            "uq_disputes_job_id_open",
            "job_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_disputes_status_created_at", "status", "created_at"),
    )
