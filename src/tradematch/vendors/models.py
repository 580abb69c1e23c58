"""A vendor's business profile and trades (the user account itself is in accounts/)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, Timestamps, check_in
from tradematch.kit.catalogue import BADGES, TRADES


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
