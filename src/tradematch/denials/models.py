from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base


class DenialCount(Base):
    """Requests refused with 401, 403 or 404, per actor and hour (contract §6: "the count of
    404s by actor is visible to admin"). Each process counts in memory and adds its counts here
    every few seconds (``denials/service.py``), so a flood of denials costs no write per request."""

    __tablename__ = "denial_counts"
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(40), primary_key=True)  # or "anonymous"
    status: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(BigInteger)
    last_seen_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint("status IN (401, 403, 404)", name="status"),
        CheckConstraint("count > 0", name="count_positive"),
    )
