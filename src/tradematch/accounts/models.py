from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.db.base import Base, CreatedAt, Timestamps, check_in
from tradematch.kit.catalogue import BADGES, ROLES, TRADES


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


class VendorProfile(Timestamps, Base):
    __tablename__ = "vendor_profiles"
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    business_name: Mapped[str] = mapped_column(String(120))
    postcode: Mapped[str] = mapped_column(String(8))
    outcode: Mapped[str] = mapped_column(ForeignKey("outcodes.outcode"))
    service_radius_miles: Mapped[int]
    accepting_leads: Mapped[bool] = mapped_column(server_default=text("true"))
    badges: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    rating_count: Mapped[int] = mapped_column(server_default="0")
    rating_total: Mapped[int] = mapped_column(server_default="0")
    __table_args__ = (
        CheckConstraint("service_radius_miles BETWEEN 1 AND 100", name="service_radius"),
        CheckConstraint(
            "rating_count >= 0 AND rating_total BETWEEN rating_count AND 5 * rating_count",
            name="rating",
        ),
        CheckConstraint(
            f"badges <@ ARRAY[{', '.join(repr(b) for b in BADGES)}]::varchar[]", name="badges"
        ),
        # Matching: accepting vendors by base district.
        # Covering, so the matching walk over districts never visits the table itself.
        Index(
            "ix_vendor_profiles_outcode_accepting",
            "outcode",
            postgresql_include=["service_radius_miles", "user_id", "rating_total", "rating_count"],
            postgresql_where=text("accepting_leads"),
        ),
    )


class VendorTrade(Base):
    __tablename__ = "vendor_trades"
    vendor_id: Mapped[str] = mapped_column(
        ForeignKey("vendor_profiles.user_id", ondelete="CASCADE"), primary_key=True
    )
    trade: Mapped[str] = mapped_column(String(32), primary_key=True)
    __table_args__ = (
        CheckConstraint(check_in("trade", TRADES), name="trade"),
        Index("ix_vendor_trades_trade_vendor_id", "trade", "vendor_id"),
    )


class LoginAttempt(CreatedAt, Base):
    """Failed logins, for the rate limit shared by every process."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(300))
    __table_args__ = (Index("ix_login_attempts_bucket_created_at", "bucket", "created_at"),)
