from __future__ import annotations

from pydantic import field_validator, model_validator

from tradematch.accounts.schemas import BusinessName, Radius, Trades, _unique_trades
from tradematch.kit.catalogue import Badge, Trade
from tradematch.kit.postcodes import Postcode
from tradematch.kit.schemas import RequestModel, ResponseModel
from tradematch.kit.text import Redacted


class VendorPublicProfile(ResponseModel):
    """The limited profile anyone signed in may see: no contact details, no postcode."""

    vendor_id: str
    business_name: Redacted  # refused on the way in; redacted too for names stored before that
    trades: list[Trade]
    badges: list[Badge]
    rating_average: float | None
    rating_count: int
    distance_miles: float | None


class VendorProfileUpdate(RequestModel):
    business_name: BusinessName | None = None
    trades: Trades | None = None
    postcode: Postcode | None = None
    service_radius_miles: Radius | None = None
    accepting_leads: bool | None = None

    _trades = field_validator("trades")(_unique_trades)

    @model_validator(mode="after")
    def _something(self) -> VendorProfileUpdate:
        if not self.model_fields_set - {"idempotency_key"}:
            raise ValueError("give at least one field to change")
        for name in self.model_fields_set - {"idempotency_key"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self
