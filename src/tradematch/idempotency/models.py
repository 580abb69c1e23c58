from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, CreatedAt


class IdempotencyRecord(CreatedAt, Base):
    """A completed request's response, stored in the same transaction as its change."""

    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint("status_code BETWEEN 100 AND 599", name="status_code"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )
