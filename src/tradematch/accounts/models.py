from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.authz.roles import ROLES
from tradematch.core.orm import Base, CreatedAt, Timestamps, check_in


class Outcode(Base):
    """UK postcode districts and their centroids (loaded from the bundled CSV)."""

    __tablename__ = "outcodes"
    outcode: Mapped[str] = mapped_column(String(4), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_outcodes_latitude_longitude", "latitude", "longitude"),)


class User(Timestamps, Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32))
    postcode: Mapped[str] = mapped_column(String(8))
    outcode: Mapped[str] = mapped_column(ForeignKey("outcodes.outcode"))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    __table_args__ = (
        CheckConstraint(check_in("role", ROLES), name="role"),
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
    )


class LoginAttempt(CreatedAt, Base):
    """Failed logins, for the rate limit shared by every process."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(300))
    __table_args__ = (Index("ix_login_attempts_bucket_created_at", "bucket", "created_at"),)
