from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, Timestamps, check_in
from tradematch.reviews.states import REVIEW


class Review(Timestamps, Base):
    __tablename__ = "reviews"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendor_profiles.user_id"))
    rating: Mapped[int]
    feedback: Mapped[str | None] = mapped_column(String(5000))
    recommend: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))
    moderation_reason: Mapped[str | None] = mapped_column(String(500))
    vendor_response: Mapped[str | None] = mapped_column(String(5000))
    vendor_responded_at: Mapped[datetime | None]
    customer_reply: Mapped[str | None] = mapped_column(String(5000))
    customer_replied_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(check_in("status", REVIEW.states), name="status"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        CheckConstraint(
            "customer_reply IS NULL OR vendor_response IS NOT NULL", name="reply_after_response"
        ),
        Index(
            "ix_reviews_vendor_id_created_at",
            "vendor_id",
            text("created_at DESC"),
            postgresql_where=text("status = 'published'"),
        ),
        Index("ix_reviews_held", "created_at", postgresql_where=text("status = 'held'")),
    )
